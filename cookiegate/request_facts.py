"""The request headers the gate reads, in one pass over ``scope["headers"]``.

Kept apart from the verdict: HTTP requests and WebSocket handshakes both read them, and the gate's
per-request object (``conversation.Conversation``) *is* a ``RequestFacts``, so a request creates one object.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class RequestFacts:
    """The request headers the gate reads, filled in one pass by ``read_request``.

    A plain slotted class rather than a dataclass: the gate's per-request object (``exchange.Exchange``)
    extends it, so the hot path creates one object per request, not two.
    """

    __slots__ = ("cookie", "forwarded", "forwarded_for", "gpc", "referer", "user_agent", "wants_html")

    cookie: bytes
    gpc: bool
    user_agent: bytes
    wants_html: bool
    forwarded_for: bytes | None
    forwarded: bytes | None
    referer: bytes


def read_request(  # noqa: PLR0912 - measured hot path: one pass, names told by length
    headers: Iterable[tuple[bytes, bytes]], into: RequestFacts | None = None
) -> RequestFacts:
    """Everything the gate needs from the request headers, in one pass (written into ``into`` when given)."""
    facts = RequestFacts() if into is None else into
    cookie = user_agent = referer = b""
    gpc = wants_html = False
    forwarded_for: bytes | None = None
    forwarded: bytes | None = None
    more_cookies: list[bytes] | None = None
    # Untyped pairs: ASGI allows any two-item sequence (a server may send lists), and a pair typed as a tuple
    # compiles to a check that raises TypeError for a list. A tuple (every server we know) is read by position
    # natively; anything else by generic indexing, ~100 instructions a header more (callgrind). A list (what
    # servers send) is walked by index; an iterator costs ~150 instructions to make and ~25 a header to step.
    pairs: list[Any] = headers if isinstance(headers, list) else list(headers)
    for pair in pairs:
        if isinstance(pair, tuple):
            name: bytes = pair[0]
            value: bytes = pair[1]
        else:
            name, value = pair[0], pair[1]
        # Names arrive in lower case (ASGI). A name is told by its length first (compiled to int compares, no
        # hashing), so each header costs at most two byte compares: most of the ~10 headers a browser sends
        # have none of these lengths.
        size = len(name)
        if size == 6:
            if name == b"cookie":
                if cookie:
                    # A browser sends one Cookie header; HTTP/2 may split it, and RFC 9113 §8.2.3 says join with "; ".
                    more_cookies = [cookie] if more_cookies is None else more_cookies
                    more_cookies.append(value)
                cookie = value
            elif name == b"accept":
                # A browser's page request starts with it (``startswith`` is compiled inline); else one C search
                # (``bytes in`` first tries the needle as an int: 2x dearer than ``find``).
                wants_html = value.startswith(b"text/html") or value.find(b"text/html") != -1
        elif size == 10:
            if name == b"user-agent":
                user_agent = value
        elif size == 7:
            if name == b"sec-gpc":
                gpc = value.strip() == b"1"
            elif name == b"referer":
                referer = value
        elif size == 15:
            if name == b"x-forwarded-for":
                forwarded_for = value if forwarded_for is None else forwarded_for + b"," + value
        elif size == 9 and name == b"forwarded":
            forwarded = value if forwarded is None else forwarded + b"," + value
    facts.cookie = cookie if more_cookies is None else b"; ".join(more_cookies)
    facts.gpc = gpc
    facts.user_agent = user_agent
    facts.wants_html = wants_html
    facts.forwarded_for = forwarded_for
    facts.forwarded = forwarded
    facts.referer = referer
    return facts


def without_cookie_headers(headers: Iterable[Any]) -> list[Any]:
    """The request headers but the Cookie header(s), for a scope whose cookies the gate rebuilt."""
    kept: list[Any] = []
    for pair in headers:
        # A tuple read natively: generic indexing and a rich compare cost ~150 instructions a header.
        if isinstance(pair, tuple):
            name: bytes = pair[0]
        else:
            name = pair[0]
        if name != b"cookie":
            kept.append(pair)
    return kept

"""The response-header rewrite: Set-Cookie of non-granted categories out, ``Vary: Cookie``, expiries in.

``rewrite_head`` is pure: it takes the app's header list and what this visitor granted and returns the list
to send (the app's own list object when nothing needs changing, so a static file costs one scan) plus what
the banner needs to know about the body. It serves HTTP responses and WebSocket handshakes alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from cookiegate.consent import narrowed
from cookiegate.minors import MINOR_RESPONSE_HEADER
from cookiegate.policy import CATEGORIES, Category
from cookiegate.set_cookies import is_deletion, set_cookie_name, stated_name

Headers = list[tuple[bytes, bytes]]

_TRUE_FLAGS: Final = (b"1", b"true", b"yes")
# The response headers the rewrite reads. Their lengths differ, so a header is told by its length and one
# compare: hashing a fresh name for a set lookup and asking ``islower`` cost ~20x more per header.
_OTHER: Final = 0
_SET_COOKIE: Final = 1
_VARY: Final = 2
_MINOR: Final = 3
_CONTENT_TYPE: Final = 4
_CONTENT_ENCODING: Final = 5
_CONTENT_LENGTH: Final = 6


def header_kind(name: bytes) -> int:
    """Which read header ``name`` is, whatever its case (ASGI asks for lower case; an app may not comply)."""
    size = len(name)
    if size == 10:
        expected, kind = b"set-cookie", _SET_COOKIE
    elif size == 14:
        expected, kind = b"content-length", _CONTENT_LENGTH
    elif size == 12:
        expected, kind = b"content-type", _CONTENT_TYPE
    elif size == 4:
        expected, kind = b"vary", _VARY
    elif size == 16:
        expected, kind = b"content-encoding", _CONTENT_ENCODING
    elif size == len(MINOR_RESPONSE_HEADER):
        expected, kind = MINOR_RESPONSE_HEADER, _MINOR
    else:
        return _OTHER
    # First and last letters before ``lower``: content-language has the length of content-encoding.
    if name == expected or (
        name[0] | 0x20 == expected[0] and name[-1] | 0x20 == expected[-1] and name.lower() == expected
    ):
        return kind
    return _OTHER


class Head:
    """A rewritten ``http.response.start`` header list and what it says about the body.

    ``html`` is an uncompressed ``text/html`` body (one the banner may be injected into); ``length_at`` is the
    index of ``content-length`` in ``headers`` (-1: none); ``flagged_minor``: the app said "under 14";
    ``compressed_html``: a compressed ``text/html`` body (no banner can go in: the gate warns once).
    A plain slotted class, not a NamedTuple: one is built per response, and a NamedTuple's constructor is
    Python code even in the compiled build (a native class costs a tenth of it there).
    """

    __slots__ = ("compressed_html", "dropped", "flagged_minor", "headers", "html", "length_at", "rewritten")

    def __init__(
        self,
        headers: Sequence[tuple[bytes, bytes]],
        dropped: tuple[str, ...],
        html: bool,
        length_at: int,
        flagged_minor: bool = False,
        compressed_html: bool = False,
    ) -> None:
        self.headers = headers
        self.dropped = dropped
        self.html = html
        self.length_at = length_at
        self.flagged_minor = flagged_minor
        self.compressed_html = compressed_html
        #: ``headers`` is a list the gate built (not the app's): later edits may change it in place.
        self.rewritten = False


def rewrite_head(  # noqa: PLR0912, PLR0915 - measured hot path: one pass, no helper calls (~1.5k instructions each)
    headers: list[Any],
    granted: frozenset[Category],
    category_of: Callable[[bytes], Category],
    expiries: Sequence[tuple[bytes, bytes]] = (),
    known: dict[bytes, Category] | None = None,
    *,
    enforce: bool = True,
) -> Head:
    """Gate one response's headers for a visitor who granted ``granted``.

    Drops Set-Cookie of other categories (whatever the header name's case: ASGI asks for lower case, but an
    app that sends ``Set-Cookie`` must not slip through), consumes the app's ``X-Cookiegate-Minor`` (the app
    knows the visitor is under 14: 개인정보 보호법 제22조의2, so this response is gated as a minor's), appends
    ``expiries`` and adds ``Vary: Cookie`` only when the response depends on consent: a Set-Cookie that
    another visitor would not get, an expiry, or an HTML page (it carries the banner and its state).
    ``known`` is a cache of ``category_of`` answers consulted first (a dict lookup instead of a call).
    With ``enforce=False`` (report-only mode) ``dropped`` names what would be dropped, and the headers keep it.
    """
    # Set-Cookie indexes and values as two lists: an (index, value) tuple each cost an allocation and a free.
    set_cookies: list[int] = []
    set_cookie_values: list[bytes] = []
    minor_at = -1
    vary_at = -1
    length_at = -1
    content_type = b""
    encoded = False
    flagged_minor = False
    for index, pair in enumerate(headers):
        # A list walked by index and a tuple read by position: a generic iteration and unpacking cost ~150
        # instructions a header more. ASGI lets a pair be any two-item iterable, unpacked the slow way.
        if isinstance(pair, tuple):
            name: bytes = pair[0]
            value: bytes = pair[1]
        else:
            name, value = pair
        kind = header_kind(name)
        if kind == _OTHER:
            continue
        if kind == _SET_COOKIE:
            set_cookies.append(index)
            set_cookie_values.append(value)
        elif kind == _CONTENT_TYPE:
            content_type = value
        elif kind == _CONTENT_LENGTH:
            length_at = index
        elif kind == _VARY:
            vary_at = index
        elif kind == _MINOR:
            minor_at = index
            if value.strip().lower() in _TRUE_FLAGS:
                flagged_minor = True
                granted = narrowed(granted, gpc=False, minor=True)
        else:
            encoded = value.strip().lower() != b"identity"
    # ``startswith`` is compiled inline; ``lower`` (a method call) only for a spelling that is neither.
    text_html = content_type.startswith(b"text/html") or (
        not content_type.startswith(b"text/") and content_type[:9].lower() == b"text/html"
    )
    html = text_html and not encoded
    if not set_cookies and minor_at == -1 and not expiries and not html:
        # A static file or an API answer: as the app made it.
        return Head(headers, (), False, length_at, compressed_html=text_html and encoded)

    # Per header index, made on the first drop: a flag read per header where a set's ``in`` cost ~100
    # instructions a header, and building a set ~180 (callgrind).
    drop: list[bool] | None = None
    dropped: list[str] = []
    depends = html or bool(expiries)
    if minor_at != -1:
        drop = [False] * len(headers)
        drop[minor_at] = True
    everything = len(granted) == len(CATEGORIES)
    known = known or {}
    for at in range(len(set_cookies)):
        if everything and depends:
            break  # nothing to drop and Vary decided: "accept all" on a page needs no classification
        # The name without ``set_cookie_name``'s malformed-pair check, which only headers that would pass need.
        index = set_cookies[at]
        value = set_cookie_values[at]
        cookie = stated_name(value)
        category = known.get(cookie) or category_of(cookie)
        if not everything and category in granted and set_cookie_name(value) != cookie:
            # Malformed (``_ga=1, _fbp=2``: two cookies to a client that splits folded headers on commas):
            # judged as the empty name. Checked only for headers that would pass, so the hot path rarely pays.
            cookie = b""
            category = known.get(cookie) or category_of(cookie)
        if category != "necessary":
            depends = True  # a visitor who granted less would not get this header
        if not everything and category not in granted and not is_deletion(value):
            dropped.append(cookie.decode("latin-1"))
            if enforce:
                if drop is None:
                    drop = [False] * len(headers)
                drop[index] = True
    # Typed: the slice and the compares below compile to bytes operations, not generic ones.
    vary: bytes | None = headers[vary_at][1] if vary_at != -1 else None
    add_vary = depends and (
        # A slice compare, not ``endswith`` (a method call with argument parsing: ~300 instructions).
        vary is None or (vary[-6:] != b"Cookie" and vary.lower().find(b"cookie") == -1 and vary.strip() != b"*")
    )
    if drop is None and not add_vary and not expiries:
        return Head(headers, (), html, length_at, flagged_minor)
    out: Headers
    if drop is not None:
        out = []
        kept_vary_at = kept_length_at = -1
        for index in range(len(headers)):  # one pass: where Vary and Content-Length land once drops are out
            if drop[index]:
                continue
            if index == vary_at:
                kept_vary_at = len(out)
            elif index == length_at:
                kept_length_at = len(out)
            out.append(headers[index])
    else:
        out = list(headers)  # nothing dropped (a page of a visitor who granted everything): one C copy
        kept_vary_at, kept_length_at = vary_at, length_at
    if add_vary:
        if vary is None:
            out.append((b"vary", b"Cookie"))
        else:
            out[kept_vary_at] = (out[kept_vary_at][0], vary + b", Cookie")
    length_at = kept_length_at
    out.extend(expiries)
    return Head(out, tuple(dropped), html, length_at, flagged_minor)

"""The banner: the tag injected into HTML pages, where it goes, and who never gets it (crawlers).

Injection rewrites only what it can rewrite safely: uncompressed ``text/html``, either a single body message
(the Content-Length is corrected) or a stream without Content-Length (the tag goes into the chunk holding
``</head>``). Compressed bodies, fixed-length streams and pages that already load the banner pass as they are.
``Injection`` is not a send wrapper of its own: the gate's one send wrapper hands it the body messages.
With the tag goes the page's ``<noscript>`` consent form (noscript.py), right after ``<body>``.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Final

import orjson
from starlette.types import Message, Scope

from cookiegate.consent import Consent
from cookiegate.noscript import NoscriptForms
from cookiegate.policy import Policy
from cookiegate.static import banner_asset_names
from cookiegate.useragents import MAX_LENGTH, is_bot

logger = logging.getLogger("cookiegate")

_HEAD_END: Final = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_END: Final = re.compile(rb"</body\s*>", re.IGNORECASE)
_BODY_START: Final = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
#: What may follow ``<body`` in a start tag (the plain find below must not take ``<bodyx>``).
_BODY_NAME_END: Final = frozenset(b"> \t\r\n\f/")
#: Only the banner's own <script> carries this attribute (``data-cookiegate-open`` links do not count);
#: the gate and the banner README both write it in lower case, so a plain find suffices.
_MARKER: Final = b"data-cookiegate-api"
_HEAD_END_LONGEST: Final = len(b"</head  >")
_STREAM_LOOKAHEAD: Final = 256 * 1024
#: Distinct User-Agents (and distinct consent states) whose answer is remembered.
BOT_CACHE_SIZE: Final = 4096
TAG_CACHE_SIZE: Final = 8192


def _closing_tag_at(body: bytes) -> int:
    """Where ``</head>`` (else ``</body>``) starts, or -1.

    ``bytes.find`` of the common lower-case spelling costs ~0.7 µs on a 4 KB page; the case-insensitive
    patterns (~4 µs) only run when it finds nothing.
    """
    at = body.find(b"</head>")
    if at != -1:
        return at
    found = _HEAD_END.search(body) or _BODY_END.search(body)
    return -1 if found is None else found.start()


def insert_tag(body: bytes, tag: bytes, forms: NoscriptForms | None = None, scope: Scope | None = None) -> bytes | None:
    """``body`` with ``tag`` before ``</head>`` (or ``</body>``), or None when it should stay untouched."""
    if _MARKER in body:
        return None
    at = _closing_tag_at(body)
    if at == -1:
        return None
    if forms is None or scope is None:
        return body[:at] + tag + body[at:]
    return splice(body, at, tag, forms, scope)


def splice(data: bytes, at: int, tag: bytes, forms: NoscriptForms, scope: Scope) -> bytes:
    """``tag`` at ``at`` (a ``</head>`` or ``</body>``), and the page's ``<noscript>`` form where the body starts.

    A ``<form>`` inside ``<head>`` is invalid and a no-script parser would break out of the head there, so
    the form goes after ``<body…>``; with no body start tag (it is optional) right after ``</head>``. The form
    comes finished from the per-(locale, path) cache; finding ``<body`` is a plain find (the case-insensitive
    pattern only runs when it finds nothing), and the page is copied once.
    """
    form = forms.for_page(scope, data, at)
    if data[at + 2] | 0x20 == 0x62:  # "</b…": no </head>, so both go before </body>
        return b"".join((data[:at], tag, form, data[at:]))
    after = data.find(b"<body", at)
    close = data.find(b">", after + 5) if after != -1 else -1
    if close != -1 and data[after + 5] in _BODY_NAME_END:
        after = close + 1
    else:
        opening = _BODY_START.search(data, at)
        after = opening.end() if opening is not None else data.index(b">", at) + 1
    return b"".join((data[:at], tag, data[at:after], form, data[after:]))


class Banner:
    """Builds the injected tag per consent state and tells crawlers apart; bounded caches for both."""

    __slots__ = ("_bots", "_tag_head", "_tags", "enabled", "forms", "warned_compressed")
    _tag_tail: Final = b'"></script>'

    def __init__(self, prefix: str, *, enabled: bool, policy: Policy | None = None) -> None:
        script, stylesheet = banner_asset_names()
        self._tag_head = (
            f'<link rel="stylesheet" href="{prefix}/static/{stylesheet}">'
            f'<script defer src="{prefix}/static/{script}" data-cookiegate-api="{prefix}" '
            'data-cookiegate-state="'
        ).encode()
        self.enabled = enabled and bool(script)
        # Keyed by the identity of a cached Consent (hashing the dataclass runs Python code: ~1 µs); the value
        # holds the Consent itself, so the id cannot be reused while the entry lives.
        self._tags: dict[int, tuple[Consent, bytes]] = {}
        self._bots: dict[bytes, bool] = {}
        #: The ``<noscript>`` forms (built per locale here, per page on first use), or None without a policy.
        self.forms = NoscriptForms(policy, prefix) if policy is not None and self.enabled else None
        self.warned_compressed = False

    def notice_unrewritable(self, headers: list[tuple[bytes, bytes]]) -> None:
        """Warn once, loudly, when an HTML page arrives compressed: no page can then carry the banner.

        Seen when compression runs inside the gate (Starlette's ``GZipMiddleware`` added before ``CookieGate``,
        so it wraps the app and the gate only sees gzip). Visitors could then never consent.
        """
        content_type = encoding = b""
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-type":
                content_type = value
            elif lowered == b"content-encoding":
                encoding = value
        if content_type[:9].lower() != b"text/html" or encoding.strip().lower() in (b"", b"identity"):
            return
        self.warned_compressed = True
        logger.warning(
            "cookiegate: an HTML page arrived already compressed (Content-Encoding: %s), so the consent banner "
            "cannot be injected and visitors cannot consent on any such page. Compress OUTSIDE the gate: in "
            "Starlette/FastAPI the middleware added last runs first, so add CookieGate first and GZipMiddleware "
            "after it:\n"
            "    app.add_middleware(CookieGate, secret_keys=[...])\n"
            "    app.add_middleware(GZipMiddleware)  # added last: compresses the page the gate injected into\n"
            "or Starlette(middleware=[Middleware(GZipMiddleware), Middleware(CookieGate, secret_keys=[...])]) "
            "(the first listed is the outermost). Or compress in the proxy (nginx, Caddy). "
            "This warning is shown once per gate.",
            encoding.decode("latin-1"),
        )

    def tag_for(self, consent: Consent, user_agent: bytes) -> bytes | None:
        """The tag to inject for this visitor, or None for a crawler (or with injection turned off)."""
        if not self.enabled:
            return None
        if user_agent:
            bot = self._bots.get(user_agent)
            if bot or (bot is None and self.is_bot(user_agent)):
                return None
        entry = self._tags.get(id(consent))
        if entry is not None and entry[0] is consent:
            return entry[1]
        if len(self._tags) >= TAG_CACHE_SIZE:
            self._tags.clear()
        tag = self.build_tag(consent)
        self._tags[id(consent)] = (consent, tag)
        return tag

    def build_tag(self, consent: Consent) -> bytes:
        """The tag, carrying the visitor's consent so a returning visitor sees no banner flicker."""
        state = consent.as_public_dict()
        state["banner"] = True
        escaped = html.escape(orjson.dumps(state).decode(), quote=True)
        return self._tag_head + escaped.encode() + self._tag_tail

    def is_bot(self, user_agent: bytes) -> bool:
        """``is_bot`` through a bounded per-gate cache (a browser's User-Agent repeats on every request)."""
        user_agent = user_agent[:MAX_LENGTH]  # the part is_bot reads; a 60 KB key would pin 60 KB of memory
        known = self._bots.get(user_agent)
        if known is None:
            known = is_bot(user_agent)
            if len(self._bots) >= BOT_CACHE_SIZE:
                self._bots.clear()  # bounded: random User-Agents cost a regex each, never memory
            self._bots[user_agent] = known
        return known


def inject_whole(
    start: Message,
    body: bytes,
    tag: bytes,
    length_at: int,
    forms: NoscriptForms | None = None,
    scope: Scope | None = None,
) -> bytes:
    """A one-message HTML body with the tag (and form) inserted, and ``start``'s Content-Length made to match."""
    rewritten = insert_tag(body, tag, forms, scope)
    if rewritten is None:
        return body
    headers = list(start.get("headers", ()))
    entry = (b"content-length", str(len(rewritten)).encode("ascii"))
    if length_at == -1:
        headers.append(entry)
    else:
        headers[length_at] = entry
    start["headers"] = headers
    return rewritten


class Injection:
    """Inserting the tag into one HTML response; holds its ``http.response.start`` until the body says how.

    ``feed`` takes each body message and returns the messages to send instead; once ``done``, the caller
    sends the remaining messages itself.
    """

    __slots__ = ("_buffer", "_forms", "_length_at", "_scope", "_seen", "_start", "_tag", "done")

    def __init__(
        self,
        tag: bytes,
        start: Message,
        length_at: int,
        forms: NoscriptForms | None = None,
        scope: Scope | None = None,
    ) -> None:
        self._tag = tag
        self._forms = forms
        self._scope = scope
        self._start: Message | None = start
        self._length_at = length_at
        self._buffer = b""
        self._seen = 0
        self.done = False

    def feed(self, body: bytes, more: bool) -> list[Message]:
        """The messages to send for one body message (the held start message goes out with the first)."""
        start = self._start
        if start is None:
            return [self._stream(body, more)]
        self._start = None
        if not more:
            self.done = True
            body = inject_whole(start, body, self._tag, self._length_at, self._forms, self._scope)
            return [start, {"type": "http.response.body", "body": body, "more_body": False}]
        if self._length_at != -1:
            # A fixed-length stream cannot grow without buffering all of it: leave it alone.
            self.done = True
            return [start, {"type": "http.response.body", "body": body, "more_body": True}]
        return [start, self._stream(body, more)]

    def _stream(self, body: bytes, more: bool) -> Message:
        data = self._buffer + body
        self._seen += len(body)
        if _MARKER in data:
            self.done = True
        else:
            found = _HEAD_END.search(data)
            if found is not None:
                at = found.start()
                forms, scope = self._forms, self._scope
                if forms is None or scope is None:
                    data = data[:at] + self._tag + data[at:]
                else:
                    data = splice(data, at, self._tag, forms, scope)
                self.done = True
            elif more and self._seen < _STREAM_LOOKAHEAD:
                # Keep a short tail so a "</head>" split across two chunks is still found.
                keep = _HEAD_END_LONGEST - 1
                self._buffer = data[-keep:]
                data = data[:-keep]
            else:
                self.done = True
        if self.done:
            self._buffer = b""
        return {"type": "http.response.body", "body": data, "more_body": more}

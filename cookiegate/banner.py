"""The banner: the tag injected into HTML pages, where it goes, and who never gets it (crawlers).

Injection rewrites only what it can rewrite safely: uncompressed ``text/html``, either a single body message
(the Content-Length is corrected) or a stream without Content-Length (the tag goes into the chunk holding
``</head>``). Compressed bodies, fixed-length streams and pages that already load the banner pass as they are.
``Injection`` is not a send wrapper of its own: the gate's one send wrapper hands it the body messages.
"""

from __future__ import annotations

import html
import re
from typing import Final

import orjson
from starlette.types import Message

from cookiegate.consent import Consent
from cookiegate.static import banner_asset_names
from cookiegate.useragents import MAX_LENGTH, is_bot

_HEAD_END: Final = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_END: Final = re.compile(rb"</body\s*>", re.IGNORECASE)
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


def insert_tag(body: bytes, tag: bytes) -> bytes | None:
    """``body`` with ``tag`` before ``</head>`` (or ``</body>``), or None when it should stay untouched."""
    if _MARKER in body:
        return None
    at = _closing_tag_at(body)
    if at == -1:
        return None
    return body[:at] + tag + body[at:]


class Banner:
    """Builds the injected tag per consent state and tells crawlers apart; bounded caches for both."""

    __slots__ = ("_bots", "_tag_head", "_tags", "enabled")
    _tag_tail: Final = b'"></script>'

    def __init__(self, prefix: str, *, enabled: bool) -> None:
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


def inject_whole(start: Message, body: bytes, tag: bytes, length_at: int) -> bytes:
    """A one-message HTML body with the tag inserted, and ``start``'s Content-Length made to match."""
    rewritten = insert_tag(body, tag)
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

    __slots__ = ("_buffer", "_length_at", "_seen", "_start", "_tag", "done")

    def __init__(self, tag: bytes, start: Message, length_at: int) -> None:
        self._tag = tag
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
            body = inject_whole(start, body, self._tag, self._length_at)
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
                data = data[: found.start()] + self._tag + data[found.start() :]
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

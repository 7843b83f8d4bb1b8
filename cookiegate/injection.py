"""Inserts the banner's ``<script>``/``<link>`` into HTML responses before ``</head>``.

Only rewrites what it can rewrite safely: uncompressed ``text/html``, either a single body message (the
Content-Length is corrected) or a stream without Content-Length (the tag goes into the chunk holding
``</head>``). Compressed bodies, fixed-length streams and pages that already load the banner pass as they are.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.types import Message, Send

_HEAD_END: Final = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_END: Final = re.compile(rb"</body\s*>", re.IGNORECASE)
#: Only the banner's own <script> carries this attribute (``data-cookiegate-open`` links do not count);
#: the gate and the banner README both write it in lower case, so a plain find suffices.
_MARKER: Final = b"data-cookiegate-api"
_HEAD_END_LONGEST: Final = len(b"</head  >")
_STREAM_LOOKAHEAD: Final = 256 * 1024


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


class BannerInjector:
    """A per-request send wrapper; create one per response, it keeps that response's state."""

    __slots__ = ("_buffer", "_length_at", "_mode", "_seen", "_send", "_start", "_tag")

    def __init__(self, send: Send, tag: bytes) -> None:
        self._send = send
        self._tag = tag
        self._start: Message | None = None
        self._mode = "undecided"
        self._buffer = b""
        self._seen = 0
        self._length_at = -1

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self._is_rewritable(message):
                self._start = message  # held until the first body message says how the body arrives
                self._mode = "held"
            else:
                self._mode = "pass"
                await self._send(message)
            return
        if kind != "http.response.body" or self._mode == "pass":
            await self._send(message)
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self._mode == "held":
            await self._first_body(body, more)
        elif self._mode == "looking":
            await self._stream_body(body, more)
        else:
            await self._send(message)

    def _is_rewritable(self, message: Message) -> bool:
        """Uncompressed HTML only; notes where Content-Length is so it can be corrected in place."""
        content_type = b""
        for index, (name, value) in enumerate(message.get("headers", ())):
            lowered = name.lower()
            if lowered == b"content-type":
                content_type = value
            elif lowered == b"content-length":
                self._length_at = index
            elif lowered == b"content-encoding" and value.strip().lower() != b"identity":
                return False
        return content_type[:9].lower() == b"text/html"

    async def _first_body(self, body: bytes, more: bool) -> None:
        start = self._start
        assert start is not None  # held mode always has a start message
        if not more:
            rewritten = insert_tag(body, self._tag)
            if rewritten is not None:
                body = rewritten
                self._set_length(start, len(body))
            self._mode = "pass"
            await self._send(start)
            await self._send({"type": "http.response.body", "body": body, "more_body": False})
            return
        if self._length_at != -1:
            # A fixed-length stream cannot grow without buffering all of it: leave it alone.
            self._mode = "pass"
            await self._send(start)
            await self._send({"type": "http.response.body", "body": body, "more_body": True})
            return
        self._mode = "looking"
        await self._send(start)
        await self._stream_body(body, more)

    def _set_length(self, start: Message, length: int) -> None:
        headers = list(start.get("headers", ()))
        entry = (b"content-length", str(length).encode("ascii"))
        if self._length_at == -1:
            headers.append(entry)
        else:
            headers[self._length_at] = entry
        start["headers"] = headers

    async def _stream_body(self, body: bytes, more: bool) -> None:
        data = self._buffer + body
        self._seen += len(body)
        if _MARKER in data:
            self._mode = "pass"
        else:
            found = _HEAD_END.search(data)
            if found is not None:
                data = data[: found.start()] + self._tag + data[found.start() :]
                self._mode = "pass"
            elif more and self._seen < _STREAM_LOOKAHEAD:
                # Keep a short tail so a "</head>" split across two chunks is still found.
                keep = _HEAD_END_LONGEST - 1
                self._buffer = data[-keep:]
                data = data[:-keep]
            else:
                self._mode = "pass"
        if self._mode == "pass":
            self._buffer = b""
        await self._send({"type": "http.response.body", "body": data, "more_body": more})


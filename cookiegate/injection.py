"""Where the banner tag (and the page's ``<noscript>`` form) goes in an HTML body, and putting it there.

Injection rewrites only what it can rewrite safely: uncompressed ``text/html``, either a single body message
(the Content-Length is corrected) or a stream without Content-Length (the tag goes into the chunk holding
``</head>``). Compressed bodies, fixed-length streams and pages that already load the banner pass as they are.
Neither ``WholePages`` nor ``Injection`` is a send wrapper of its own: the gate's one send wrapper hands them
the body. The tag goes before ``</head>``; the form right after ``<body>`` (a form in the head is invalid).
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.types import Message, Scope

from cookiegate.bounded import FifoCache
from cookiegate.noscript import NoscriptForms

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
#: Pages whose places are remembered, and the largest page remembered (memory: at most ~64 MB, far less
#: on a real site, whose pages are a few KB).
PAGE_CACHE_SIZE: Final = 512
PAGE_CACHE_BODY_LIMIT: Final = 128 * 1024

#: A page cut where the tag and the form go: (before the tag, between tag and form, after the form, form).
Parts = tuple[bytes, bytes, bytes, bytes]


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


def cut(body: bytes, forms: NoscriptForms | None, scope: Scope | None) -> Parts | None:
    """Where the tag and the form go in ``body``, or None when it must stay untouched (no head or body end,
    or the page loads the banner itself)."""
    if body.find(_MARKER) != -1:
        return None
    at = _closing_tag_at(body)
    return None if at == -1 else cut_at(body, at, forms, scope)


def cut_at(body: bytes, at: int, forms: NoscriptForms | None, scope: Scope | None) -> Parts:
    """``body`` cut for the tag at ``at`` (a ``</head>`` or ``</body>``) and for the form after ``<body…>``."""
    if forms is None or scope is None:
        return body[:at], b"", body[at:], b""
    form = forms.for_page(scope, body, at)
    if body[at + 2] | 0x20 == 0x62:  # "</b…": no </head>, so both go before </body>
        return body[:at], b"", body[at:], form
    # The form goes after ``<body…>``; with no body start tag (it is optional) right after ``</head>``.
    after = body.find(b"<body", at)
    close = body.find(b">", after + 5) if after != -1 else -1
    if close != -1 and body[after + 5] in _BODY_NAME_END:
        after = close + 1
    else:
        opening = _BODY_START.search(body, at)
        after = opening.end() if opening is not None else body.index(b">", at) + 1
    return body[:at], body[at:after], body[after:], form


def insert_tag(body: bytes, tag: bytes, forms: NoscriptForms | None = None, scope: Scope | None = None) -> bytes | None:
    """``body`` with ``tag`` before ``</head>`` (or ``</body>``) and the form after ``<body>``, or None."""
    parts = cut(body, forms, scope)
    if parts is None:
        return None
    head, middle, tail, form = parts
    return b"".join((head, tag, middle, form, tail))


class WholePages:
    """Injection into one-message HTML bodies, remembering where the tag and form went in each page.

    Most pages a site serves are the same bytes for every visitor (a rendered template, a static file), so
    finding ``</head>`` and ``<body>`` and building the form again on every view is wasted: the places are
    kept per (path, query, length) with the page they were found in, and a page equal to that one (one
    ``memcmp``) only gets the visitor's tag joined in. A page that differs is cut afresh. Pages whose
    language comes from the visitor's ``Accept-Language`` (no ``<html lang>``) are not remembered.
    """

    __slots__ = ("_forms", "_pages")

    def __init__(self, forms: NoscriptForms | None) -> None:
        self._forms = forms
        # Bounded (oldest out): a flood of distinct pages costs a cut each, never memory.
        self._pages: FifoCache[tuple[str, bytes, int], tuple[bytes, Parts | None]] = FifoCache(PAGE_CACHE_SIZE)

    def inject(self, body: bytes, tag: bytes, scope: dict[str, Any]) -> bytes | None:
        """``body`` with the tag and the form in, or None when it stays as it is."""
        key = (scope["path"], scope.get("query_string", b""), len(body))
        known = self._pages.entries.get(key)
        if known is not None and known[0] == body:
            parts = known[1]
        else:
            parts = cut(body, self._forms, scope)
            if len(body) <= PAGE_CACHE_BODY_LIMIT and (
                self._forms is None or parts is None or self._forms.page_locale(body, len(parts[0])) is not None
            ):
                self._pages.put(key, (body, parts))
        if parts is None:
            return None
        head, middle, tail, form = parts
        return b"".join((head, tag, middle, form, tail))


def set_content_length(start: Message, length: int, length_at: int) -> None:
    """Make ``start``'s Content-Length say ``length`` (``length_at``: its index, -1 when there is none).

    Changes ``start`` and its header list in place: a start held for the banner is the gate's own copy
    (``Exchange.send`` makes one), never the app's message, which the app may send again.
    """
    headers: list[tuple[bytes, bytes]] = start["headers"]
    entry = (b"content-length", str(length).encode("ascii"))  # compiled inline; ``b"%d" %`` formats at run time
    if length_at == -1:
        headers.append(entry)
    else:
        headers[length_at] = entry


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
    set_content_length(start, len(rewritten), length_at)
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
        if data.find(_MARKER) != -1:
            self.done = True
        else:
            found = _HEAD_END.search(data)
            if found is not None:
                head, middle, tail, form = cut_at(data, found.start(), self._forms, self._scope)
                data = b"".join((head, self._tag, middle, form, tail))
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

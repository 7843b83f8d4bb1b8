"""The gate's one send wrapper per request: response headers gated, the banner injected, one access record.

``Exchange`` serves an HTTP request, ``Handshake`` (handshake.py) a WebSocket handshake; both gate their
response headers with ``rewrite_head`` and write exactly one access-log record with an outcome
(통신비밀보호법 시행령 제41조: every access, including the ones a client aborts or an app fails, leaves a record):

- ``ok``: the last body message went out; ``disconnected``: the client went away (``http.disconnect`` seen or
  ``send`` raised ``OSError``); ``error``: the app raised, or returned mid-response; ``no-response``: the app
  returned without starting a response (the server answers 500).
- ``ws-accepted`` (status 101) and ``ws-denied`` (403, or the status of the app's denial response).
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import Any, Final

from starlette.requests import ClientDisconnect
from starlette.types import Message

from cookiegate.conversation import Conversation, outgoing
from cookiegate.injection import Injection, set_content_length


class _Held:
    """What ``Exchange.send`` returns for a start message it holds: an awaitable that is already complete."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())  # type: ignore[return-value]  # an empty iterator is a finished await


HELD: Final = _Held()


class Exchange(Conversation):
    """One HTTP request's send (and receive) wrapper; create one per request."""

    __slots__ = ()

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.disconnected = True
        return message

    def send(self, message: Message) -> Awaitable[None]:  # noqa: PLR0911, PLR0912 - measured hot path, inlined on purpose
        """Gate one message and return what sends it: the server's own ``send`` awaitable wherever this wrapper
        has nothing left to do once it is sent (no coroutine of ours in between: over HTTP, ~2% of a request).

        A send whose failure still changes the access record goes through ``_forward`` or ``_body``, which see
        an ``OSError``: the ``ok`` record is written before the last body message leaves, so only earlier
        messages of a logged request can. A page getting the banner goes out through ``_page`` (two sends).
        """
        if not isinstance(message, dict):
            message = dict(message)  # ASGI messages are dicts; typed as one, every read below is a C dict read
        kind: str = message["type"]  # typed: the compares below compile to string compares, not rich compares
        if kind == "http.response.body":
            start = self._held
            if start is None and self._injection is None:
                if message.get("more_body", False):
                    return self._body(message) if self._gate.access_log is not None else self._send(message)
                if not self.logged:
                    self._record_ok(len(message.get("body", b"")))
                return self._send(message)
            if start is not None and self._injection is None and not message.get("more_body", False):
                # The common HTML page: one body message, the banner joined in from the page cache.
                self._held = None
                return self._page(start, self._whole_page(start, message.get("body", b"")))
            return self._inject(message)
        if kind == "http.response.start":
            self.status = message["status"]
            # The consent API expires cookies against the consent it just recorded, not the one it replaced.
            head = self._gate_headers(message, not self.is_api)
            message = outgoing(message, head)
            if self.wants_html and not self.is_api:
                banner = self._gate.banner
                if head.html:
                    tag = banner.tag_for(self.verdict.consent, self.user_agent)
                    if tag is not None:
                        # Held until the body says how; the page's <noscript> form goes in with the tag. Our
                        # own copy (headers included), so completing its Content-Length changes nothing of the app's.
                        if not head.rewritten:
                            message = {**message, "headers": list(head.headers)}
                        self._held, self._tag, self._length_at = message, tag, head.length_at
                        return HELD
                elif head.compressed_html and banner.enabled and not banner.warned_compressed:
                    banner.notice_unrewritable(message.get("headers", []))
        elif self._held is not None or kind == "http.response.pathsend":
            return self._other(message, kind)
        return self._send(message) if self._gate.access_log is None else self._forward(message)

    async def _page(self, start: Message, body: bytes) -> None:
        """Send a held start and its one-message body, recorded already (``_whole_page``)."""
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body})

    async def _other(self, message: Message, kind: str) -> None:
        """A message that is neither start nor body, such as a server extension's ``http.response.pathsend``."""
        if self._held is not None:
            held, self._held = self._held, None  # not a body we can rewrite: the page goes out as it is
            await self._forward(held)
        if kind == "http.response.pathsend" and not self.logged:
            self._log("ok", self.status)  # the server sends the file: this is the last message
        await self._forward(message)

    def _whole_page(self, start: Message, body: bytes) -> bytes:
        """A one-message HTML body with the banner in (``start``'s Content-Length made to match), logged."""
        rewritten = self._gate.banner.pages.inject(body, self._tag, self._scope)
        if rewritten is not None:
            body = rewritten
            set_content_length(start, len(body), self._length_at)
        if not self.logged:
            self._record_ok(len(body))
        return body

    async def _inject(self, message: Message) -> None:
        """Body messages of an HTML page getting the banner as a stream (the held start goes with the first)."""
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        start = self._held
        self._held = None
        injection = self._injection
        if injection is None:
            assert start is not None  # a held start or a stream under way
            forms = self._gate.banner.forms
            injection = self._injection = Injection(self._tag, start, self._length_at, forms, self._scope)
        out = injection.feed(body, more)
        if injection.done:
            self._injection = None
        for one in out:
            await (self._body(one) if one["type"] == "http.response.body" else self._forward(one))

    async def _body(self, message: Message) -> None:
        size = len(message.get("body", b""))
        if not message.get("more_body", False) and not self.logged:
            self._record_ok(size)
            size = 0
        try:
            await self._send(message)
        except OSError:
            self.disconnected = True
            raise
        self.sent_bytes += size

    def _record_ok(self, size: int) -> None:
        """Write the ``ok`` record, the last body message's ``size`` counted, before that message leaves: a
        response the client got always has a record, even if the process is killed right after."""
        self.sent_bytes += size
        self._log("ok", self.status)

    async def _forward(self, message: Message) -> None:
        try:
            await self._send(message)
        except OSError:
            self.disconnected = True
            raise

    def failed(self, error: BaseException) -> None:
        """The app raised: the request still happened and is logged (status as sent, or 500)."""
        if not self.logged:
            gone = self.disconnected or isinstance(error, OSError | ClientDisconnect)
            self._log("disconnected" if gone else "error", self.status or 500)

    def returned(self) -> None:
        """The app returned: log what it left unfinished (a finished response is logged already)."""
        if self.logged:
            return
        if self.disconnected:
            self._log("disconnected", self.status or 500)
        elif self.status == 0:
            self._log("no-response", 500)
        else:
            self._log("error", self.status)

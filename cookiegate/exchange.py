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

from starlette.requests import ClientDisconnect
from starlette.types import Message

from cookiegate.conversation import Conversation, outgoing
from cookiegate.injection import Injection, set_content_length


class Exchange(Conversation):
    """One HTTP request's send (and receive) wrapper; create one per request."""

    __slots__ = ()

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.disconnected = True
        return message

    async def send(self, message: Message) -> None:  # noqa: PLR0912, PLR0915 - measured hot path, inlined on purpose
        if not isinstance(message, dict):
            message = dict(message)  # ASGI messages are dicts; typed as one, every read below is a C dict read
        kind: str = message["type"]  # typed: the compares below compile to string compares, not rich compares
        if kind == "http.response.body":
            start = self._held
            if start is not None and self._injection is None and not message.get("more_body", False):
                # The common HTML page: one body message. Inlined, as ``_body`` below, not a coroutine of its own.
                self._held = None
                body = self._whole_page(start, message.get("body", b""))
                try:
                    await self._send(start)
                    await self._send({"type": "http.response.body", "body": body})
                except OSError:
                    self.disconnected = True
                    raise
                return
            if start is not None or self._injection is not None:
                await self._inject(message)
                return
            # ``_body`` inlined: a coroutine per message is ~1.5k instructions on the hottest path.
            size = len(message.get("body", b""))
            if not message.get("more_body", False) and not self.logged:
                self.sent_bytes += size
                self._log("ok", self.status)
                size = 0
            try:
                await self._send(message)
            except OSError:
                self.disconnected = True
                raise
            self.sent_bytes += size
            return
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
                        return
                elif head.compressed_html and banner.enabled and not banner.warned_compressed:
                    banner.notice_unrewritable(message.get("headers", []))
        else:
            if self._held is not None:
                # Not a body we can rewrite (a server extension such as ``http.response.pathsend``).
                held, self._held = self._held, None
                await self._forward(held)
            if kind == "http.response.pathsend" and not self.logged:
                self._log("ok", self.status)  # the server sends the file: this is the last message
        try:  # ``_forward`` inlined, as above
            await self._send(message)
        except OSError:
            self.disconnected = True
            raise

    def _whole_page(self, start: Message, body: bytes) -> bytes:
        """A one-message HTML body with the banner in (``start``'s Content-Length made to match), logged."""
        rewritten = self._gate.banner.pages.inject(body, self._tag, self._scope)
        if rewritten is not None:
            body = rewritten
            set_content_length(start, len(body), self._length_at)
        self.sent_bytes = len(body)
        if not self.logged:
            self._log("ok", self.status)
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
            # Spooled before the last byte leaves: a response the client got always has a record, even if the
            # process is killed right after.
            self.sent_bytes += size
            self._log("ok", self.status)
            size = 0
        try:
            await self._send(message)
        except OSError:
            self.disconnected = True
            raise
        self.sent_bytes += size

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

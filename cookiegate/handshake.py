"""A WebSocket handshake's send wrapper: the accept or denial headers gated like HTTP's, one record each.

The handshake carries cookies too, so it resolves through the same ``Verdicts`` as HTTP and its
``websocket.accept`` / ``websocket.http.response.*`` headers go through the same ``rewrite_head``
(통신비밀보호법 시행령 제41조: a handshake is an access, accepted or denied, and leaves one record).
"""

from __future__ import annotations

from starlette.types import Message

from cookiegate.conversation import Conversation, outgoing
from cookiegate.records.types import Outcome


class Handshake(Conversation):
    """One WebSocket handshake's send wrapper: accept or denial headers gated, accepted or denied logged."""

    __slots__ = ()

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if not self.logged:
            if kind == "websocket.accept":
                message = outgoing(message, self._gate_headers(message, True))
                self._log("ws-accepted", 101)
            elif kind == "websocket.http.response.start":
                self.status = message["status"]
                message = outgoing(message, self._gate_headers(message, True))
            elif kind == "websocket.http.response.body":
                self.sent_bytes += len(message.get("body", b""))
                if not message.get("more_body", False):
                    self._log("ws-denied", self.status)
            elif kind == "websocket.close":
                self._log("ws-denied", 403)  # closed before accepting: the server answers 403
        await self._send(message)

    def finish(self) -> None:
        """The app is done: a handshake it never answered was denied (the server answers 403)."""
        if not self.logged:
            self._log("ws-denied", self.status or 403)

    def _log(self, outcome: Outcome, status: int) -> None:
        if "method" not in self._scope:
            # A WebSocket scope has no method; the handshake is a GET (RFC 6455 §4.1) and the log expects one.
            self._scope = {**self._scope, "method": "GET"}
        super()._log(outcome, status)

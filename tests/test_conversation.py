"""What HTTP and WebSocket share: gated headers leave in a new message, the app's own message stays as it was."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from cookiegate.conversation import outgoing
from cookiegate.response import Head
from tests.test_exchange import gate


def test_outgoing_is_the_apps_message_until_its_headers_were_rewritten() -> None:
    app_headers = [(b"set-cookie", b"_fbp=1"), (b"content-type", b"text/plain")]
    message: Message = {"type": "http.response.start", "status": 200, "headers": app_headers}
    untouched = Head(app_headers, (), html=False, length_at=-1)
    assert outgoing(message, untouched) is message

    gated = Head([(b"content-type", b"text/plain")], ("_fbp",), html=False, length_at=-1)
    gated.rewritten = True
    sent = outgoing(message, gated)
    assert sent is not message
    assert sent == {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
    assert message["headers"] is app_headers and app_headers[0] == (b"set-cookie", b"_fbp=1")


def test_a_websocket_accept_sent_from_a_constant_is_gated_anew_for_every_visitor(tmp_path: Path) -> None:
    accept: Message = {"type": "websocket.accept", "headers": [(b"set-cookie", b"_fbp=1"), (b"x-app", b"1")]}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        await send(accept)
        await send({"type": "websocket.close", "code": 1000})

    gated, _ = gate(app, tmp_path)
    for _ in range(2):
        with TestClient(gated).websocket_connect("/ws") as socket:
            extra: list[tuple[bytes, bytes]] = list(socket.extra_headers or ())
        assert (b"x-app", b"1") in extra
        assert not any(name.lower() == b"set-cookie" and value.startswith(b"_fbp") for name, value in extra)
    assert accept["headers"] == [(b"set-cookie", b"_fbp=1"), (b"x-app", b"1")], "the app's message is its own"

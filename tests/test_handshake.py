"""A WebSocket handshake: its accept or denial headers gated like HTTP's, and one access record each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.test_exchange import gate


def ws_app(handler: Any) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", handler)])


def test_websocket_accept_headers_are_gated_and_logged_accepted(tmp_path: Path) -> None:
    async def handler(websocket: WebSocket) -> None:
        await websocket.accept(headers=[(b"set-cookie", b"_fbp=1"), (b"set-cookie", b"session=s")])
        await websocket.close()

    app, recorder = gate(ws_app(handler), tmp_path)
    client = TestClient(app)
    with client.websocket_connect("/ws", headers={"cookie": "_ga=1"}) as socket:
        extra: list[tuple[bytes, bytes]] = list(socket.extra_headers or ())
        set_cookies = [v for n, v in extra if n.lower() == b"set-cookie"]
    assert b"session=s" in set_cookies
    assert not any(v.startswith(b"_fbp=1") for v in set_cookies)
    assert any(v.startswith(b"_ga=;") for v in set_cookies)  # the blocked cookie it sent is expired
    assert recorder.calls == [(101, 0, "ws-accepted")]


def test_websocket_denial_response_is_gated_and_logged_denied(tmp_path: Path) -> None:
    async def handler(websocket: WebSocket) -> None:
        denial = Response("no", status_code=401, headers={"set-cookie": "_fbp=1", "x-kept": "yes"})
        await websocket.send_denial_response(denial)

    app, recorder = gate(ws_app(handler), tmp_path)
    with pytest.raises(WebSocketDenialResponse) as caught, TestClient(app).websocket_connect("/ws"):
        pass
    assert caught.value.status_code == 401
    assert caught.value.headers["x-kept"] == "yes"
    assert "set-cookie" not in caught.value.headers
    assert recorder.calls == [(401, 2, "ws-denied")]


def test_websocket_closed_before_accept_is_logged_denied(tmp_path: Path) -> None:
    async def handler(websocket: WebSocket) -> None:
        await websocket.close()

    app, recorder = gate(ws_app(handler), tmp_path)
    with pytest.raises(WebSocketDisconnect), TestClient(app).websocket_connect("/ws"):
        pass
    assert recorder.calls == [(403, 0, "ws-denied")]

"""Hostile WebSocket handshakes: Set-Cookie on accept and on denial, smuggled cookies, a child's URL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from tests.hostile.harness import (
    ALL,
    Outcome,
    Recording,
    allowed,
    assert_holds,
    consent_cookie,
    make_gate,
)

NONE = allowed(None)


def ws_app(kind: str, headers: list[tuple[bytes, bytes]]) -> Recording:
    """Accepts (with ``headers``) or denies with an HTTP response carrying them; records its scope."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        if kind == "accept":
            await send({"type": "websocket.accept", "headers": headers})
            await send({"type": "websocket.close", "code": 1000})
        elif kind == "deny":
            await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": b"no"})
        else:
            await send({"type": "websocket.close", "code": 1008})

    return Recording(app)


def ws_scope(query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None, path: str = "/ws") -> Scope:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "wss",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers or [],
        "client": ("203.0.113.9", 40000),
        "server": ("shop.test", 443),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }


def handshake(gate: Any, scope: Scope) -> Outcome:
    outcome = Outcome()
    incoming: list[Message] = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(0)
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        outcome.messages.append(message)
        if message["type"] in ("websocket.accept", "websocket.http.response.start"):
            outcome.status = message.get("status", 101)
            outcome.headers = list(message.get("headers", []))

    asyncio.run(gate(scope, receive, send))
    outcome.app_scope = gate.app.scopes[-1] if gate.app.scopes else None
    return outcome


SET_COOKIES = [(b"set-cookie", b"_fbp=1; Path=/"), (b"Set-Cookie", b"_ga=2"), (b"set-cookie", b"session=s")]


@pytest.mark.parametrize("granted", [None, ["analytics"], ["functional"]])
def test_set_cookie_on_accept_is_filtered(tmp_path: Path, granted: list[str] | None) -> None:
    gate = make_gate(tmp_path, ws_app("accept", SET_COOKIES))
    headers = [(b"cookie", consent_cookie(granted))] if granted is not None else []
    outcome = handshake(gate, ws_scope(headers=headers))
    assert_holds(outcome, allowed(granted))
    assert "session" in outcome.stored_names()


@pytest.mark.parametrize("granted", [None, ["analytics"]])
def test_set_cookie_on_a_denial_response_is_filtered(tmp_path: Path, granted: list[str] | None) -> None:
    gate = make_gate(tmp_path, ws_app("deny", SET_COOKIES))
    headers = [(b"cookie", consent_cookie(granted))] if granted is not None else []
    outcome = handshake(gate, ws_scope(headers=headers))
    assert outcome.status == 403
    assert_holds(outcome, allowed(granted))


def test_set_cookie_for_a_child_on_accept_drops_targeting(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, ws_app("accept", SET_COOKIES))
    outcome = handshake(gate, ws_scope(headers=[(b"cookie", consent_cookie(ALL, under14=True))]))
    assert_holds(outcome, allowed(ALL, minor=True))


@pytest.mark.parametrize(
    "query",
    [b"gclid=1&room=a", b"utm_source=x&utm_medium=y&room=a", b"room=a;fbclid=2", b"%67clid=1&room=a", b"gclid[]=1"],
)
def test_childs_marketing_params_in_the_websocket_url(tmp_path: Path, query: bytes) -> None:
    gate = make_gate(tmp_path, ws_app("accept", []))
    outcome = handshake(gate, ws_scope(query, [(b"cookie", consent_cookie(ALL, under14=True))]))
    assert_holds(outcome, allowed(ALL, minor=True), minor=True)


@pytest.mark.parametrize(
    "cookie",
    [b"session=a _fbp=x", b"session=a,_fbp=x", b"_fbp=1; _ga=2; session=s", b"\xff=1; _fbp\x00=2"],
)
def test_cookie_smuggling_in_the_handshake(tmp_path: Path, cookie: bytes) -> None:
    gate = make_gate(tmp_path, ws_app("close", []))
    assert_holds(handshake(gate, ws_scope(headers=[(b"cookie", cookie)])), NONE)

"""The startup warning for a server that already trusts X-Forwarded-For from peers the gate does not."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from cookiegate.forwarding import server_trusted_forwarders, untrusted_forwarders, warn_if_server_trusts_more


def _seen_through(server_trusts: str | None) -> list[str] | None:
    """What the detection reports from inside an app the server (or nothing) wraps."""
    found: list[list[str] | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        found.append(server_trusted_forwarders())

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        return None

    outer = app if server_trusts is None else ProxyHeadersMiddleware(app, trusted_hosts=server_trusts)  # type: ignore[arg-type]
    scope = {"type": "http", "headers": [], "client": ("127.0.0.1", 5000)}
    asyncio.run(outer(scope, receive, send))  # type: ignore[arg-type]
    return found[0]


def test_uvicorns_default_trust_is_seen() -> None:
    assert _seen_through("127.0.0.1,::1") == ["127.0.0.1", "::1"]
    assert _seen_through("*") == ["*"]
    assert _seen_through("10.0.0.0/8") == ["10.0.0.0/8"]
    assert _seen_through(None) is None


@pytest.mark.parametrize(
    ("server", "gate", "extra"),
    [
        (["127.0.0.1", "::1"], [], ["127.0.0.1", "::1"]),
        (["127.0.0.1", "::1"], ["127.0.0.0/8", "::1"], []),
        (["10.1.2.0/24"], ["10.0.0.0/8"], []),
        (["10.0.0.0/8"], ["10.1.2.0/24"], ["10.0.0.0/8"]),
        (["*"], ["0.0.0.0/0"], ["*"]),
        (["unix:/run/x.sock"], ["bogus", "::/0"], ["unix:/run/x.sock"]),
    ],
)
def test_untrusted_forwarders(server: list[str], gate: list[str], extra: list[str]) -> None:
    assert untrusted_forwarders(server, gate) == extra


def test_the_warning_names_the_fix(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert warn_if_server_trusts_more([]) is True
        assert warn_if_server_trusts_more(["127.0.0.1", "::1"]) is False

    wrapped = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1,::1")  # type: ignore[arg-type]
    asyncio.run(wrapped({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert "--forwarded-allow-ips=''" in caplog.text
    assert "127.0.0.1, ::1" in caplog.text

"""The startup warning for a server that already trusts X-Forwarded-For from peers the gate does not."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
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


SERVED_APP = """
import os
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from cookiegate import CookieGate

async def where(request):
    return PlainTextResponse(request.client.host)

app = CookieGate(
    Starlette(routes=[Route("/", where)]),
    secret_keys=["forwarding-test-secret-0123456789"],
    data_dir=os.environ["COOKIEGATE_DATA"],
    access_log=False,
)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("flags", "warns"), [([], True), (["--forwarded-allow-ips="], False)])
def test_real_uvicorn_with_its_default_trust_gets_the_warning(tmp_path: Path, flags: list[str], warns: bool) -> None:
    """Real uvicorn: its default trusts X-Forwarded-For from 127.0.0.1, so a local client forges its address."""
    (tmp_path / "served.py").write_text(SERVED_APP)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "COOKIEGATE_DATA": str(tmp_path / "data"), "PYTHONPATH": str(tmp_path)}
    env.pop("FORWARDED_ALLOW_IPS", None)
    command = [sys.executable, "-m", "uvicorn", "served:app", "--port", str(port), "--log-level", "warning", *flags]
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        forged = None
        for _ in range(100):
            try:
                forged = httpx.get(f"http://127.0.0.1:{port}/", headers={"x-forwarded-for": "198.51.100.7"}).text
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert forged == ("198.51.100.7" if warns else "127.0.0.1")  # what the server did with the header
        for _ in range(2):
            httpx.get(f"http://127.0.0.1:{port}/")
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert ("--forwarded-allow-ips=''" in stderr) is warns, stderr
    assert stderr.count("X-Forwarded-For for peers") == (1 if warns else 0)  # once, not per request

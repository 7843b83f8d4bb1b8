"""The one send wrapper: exactly one access record per request and per WebSocket handshake, with its outcome.

Contract 1 (gate ↔ back office): ``services.access_log.log(scope, status, sent_bytes, started_ns, consent,
user_agent, forwarded_for, forwarded, outcome)``, once. The sink here records the calls the store would get.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from cookiegate import CookieGate
from cookiegate.exchange import HELD
from cookiegate.services import Services
from tests.conftest import SECRET


class Recorder:
    """An access log sink that keeps (status, sent_bytes, outcome) of every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def log(
        self,
        scope: Scope,
        status: int,
        sent_bytes: int,
        started_ns: int,
        consent: Any,
        user_agent: bytes,
        forwarded_for: bytes | None,
        forwarded: bytes | None,
        outcome: str = "ok",
    ) -> None:
        assert scope["method"] == "GET"
        self.calls.append((status, sent_bytes, outcome))


def gate(app: Any, tmp_path: Path) -> tuple[CookieGate, Recorder]:
    recorder = Recorder()
    return CookieGate(app, secret_keys=[SECRET], services=Services(access_log=recorder)), recorder


def run(app: CookieGate, messages: list[Message], *, send_raises: bool = False) -> list[Message]:
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"cookie", b"_fbp=1")],
        "scheme": "http",
        "http_version": "1.1",
        "client": ("127.0.0.1", 5),
        "server": ("x", 80),
    }
    inbox = list(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if send_raises and message["type"] == "http.response.body":
            raise OSError("connection reset")
        sent.append(message)

    async def call() -> None:
        await app(scope, receive, send)

    with contextlib.suppress(OSError, RuntimeError, ClientDisconnect):
        asyncio.run(call())
    return sent


async def page(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"set-cookie", b"_fbp=2")]})
    await send({"type": "http.response.body", "body": b"hello", "more_body": True})
    await send({"type": "http.response.body", "body": b"!"})


def test_a_finished_response_is_logged_once_as_ok(tmp_path: Path) -> None:
    app, recorder = gate(page, tmp_path)
    sent = run(app, [])
    assert recorder.calls == [(200, 6, "ok")]
    assert all(n != b"set-cookie" or not v.startswith(b"_fbp=2") for n, v in sent[0]["headers"])


def test_client_gone_mid_stream_is_logged_as_disconnected(tmp_path: Path) -> None:
    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        if (await receive())["type"] == "http.disconnect":
            return  # as StreamingResponse does when the client went away

    app, recorder = gate(streaming, tmp_path)
    run(app, [])
    assert recorder.calls == [(200, 4, "disconnected")]


def test_send_raising_oserror_is_logged_as_disconnected(tmp_path: Path) -> None:
    app, recorder = gate(page, tmp_path)
    run(app, [], send_raises=True)
    assert recorder.calls == [(200, 0, "disconnected")]


def test_app_error_is_logged_with_status_as_sent_or_500(tmp_path: Path) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("bug")

    async def broken_late(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        raise RuntimeError("bug")

    for app_, expected in ((broken, (500, 0, "error")), (broken_late, (201, 0, "error"))):
        app, recorder = gate(app_, tmp_path)
        run(app, [])
        assert recorder.calls == [expected]


def test_app_returning_without_a_response_is_logged_as_no_response(tmp_path: Path) -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    app, recorder = gate(silent, tmp_path)
    run(app, [])
    assert recorder.calls == [(500, 0, "no-response")]


def test_injected_html_is_logged_once_with_the_bytes_sent(tmp_path: Path) -> None:
    async def html(scope: Scope, receive: Receive, send: Send) -> None:
        body = b"<html><head></head><body>x</body></html>"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    app, recorder = gate(html, tmp_path)
    client = TestClient(app)
    response = client.get("/", headers={"accept": "text/html"})
    assert "data-cookiegate-state" in response.text
    assert recorder.calls == [(200, len(response.content), "ok")]


def test_a_pathsend_response_is_logged_ok_and_its_held_start_still_goes_out(tmp_path: Path) -> None:
    async def file_page(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.pathsend", "path": "/srv/index.html"})

    app, recorder = gate(file_page, tmp_path)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept", b"text/html")],
        "query_string": b"",
        "scheme": "http",
    }
    asyncio.run(app(scope, receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert recorder.calls == [(200, 0, "ok")]


def test_an_app_that_sends_the_same_message_dicts_again_gets_them_back_unchanged(tmp_path: Path) -> None:
    # A raw ASGI app serving a page from module-level constants: what the gate adds for one visitor (a GPC
    # receipt cookie, Vary, the banner's Content-Length) must not be in the dicts the next visitor is served from.
    page_body = b"<html><head></head><body>x</body></html>"
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(page_body)).encode())],
    }
    body: Message = {"type": "http.response.body", "body": page_body}
    original_headers = list(start["headers"])

    async def constant_page(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start)
        await send(body)

    app, _ = gate(constant_page, tmp_path)
    refuser = TestClient(app).get("/", headers={"accept": "text/html", "sec-gpc": "1"})
    assert "cookiegate" in refuser.cookies, "a GPC visitor gets a signed receipt"
    other = TestClient(app).get("/", headers={"accept": "text/html"})
    assert "cookiegate" not in other.cookies, "the next visitor must not get the first one's receipt"
    assert int(other.headers["content-length"]) == len(other.content)
    assert start["headers"] == original_headers
    assert body["body"] == page_body


def test_the_held_start_awaitable_completes_each_time_it_is_awaited() -> None:
    # One module constant serves every page the gate holds for the banner: awaiting it must never run out.
    async def hold_three_pages() -> None:
        for _ in range(3):
            await HELD

    asyncio.run(hold_three_pages())


def test_without_an_access_log_the_servers_send_errors_reach_the_app_as_they_are() -> None:
    # Nothing to record: the gate hands the app the server's own send for a plain response, errors included.
    seen: list[BaseException] = []

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"set-cookie", b"_fbp=2")]})
        try:
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
        except OSError as error:
            seen.append(error)

    app = CookieGate(stream, secret_keys=[SECRET], services=Services(access_log=None))
    sent = run(app, [], send_raises=True)
    assert [type(error) for error in seen] == [OSError]
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert all(n != b"set-cookie" or not v.startswith(b"_fbp=2") for n, v in sent[0]["headers"]), "still gated"

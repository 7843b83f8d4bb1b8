"""CookieGate end to end through Starlette's TestClient: what the app sees, what the browser gets."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from cookiegate import CookieGate, Policy
from cookiegate.consent import new_consent
from cookiegate.consent_cookie import ConsentCodec
from tests.conftest import SECRET, accept, gate_of, tiny_app

Client = Callable[..., TestClient]
TRACKERS = {"_ga": "GA1", "_fbp": "fb.1", "mystery_id": "x", "session": "s1", "lang": "ko"}


def names(set_cookies: list[str]) -> set[str]:
    return {h.split("=", 1)[0] for h in set_cookies if "Max-Age=0" not in h}


def expired(set_cookies: list[str]) -> set[str]:
    return {h.split("=", 1)[0] for h in set_cookies if "Max-Age=0" in h}


def test_new_visitor_app_sees_only_necessary_cookies(gate_client: Client) -> None:
    client = gate_client()
    client.cookies.update(TRACKERS)
    seen = client.get("/echo").json()
    assert seen["cookies"] == {"session": "s1"}
    assert seen["granted"] == ["necessary"]


def test_new_visitor_cannot_receive_tracking_cookies(gate_client: Client) -> None:
    client = gate_client()
    response = client.get("/echo?set=_ga&set=_fbp&set=mystery_id&set=session&set=lang")
    assert names(response.headers.get_list("set-cookie")) == {"session"}
    assert set(client.cookies.keys()) == {"session"}


def test_blocked_cookies_the_browser_sent_are_expired_for_host_and_domains(gate_client: Client) -> None:
    client = gate_client(cookie_domains=[".shop.test"])
    client.cookies.update({"_fbp": "leaked"})
    set_cookies = client.get("/echo").headers.get_list("set-cookie")
    assert "_fbp=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/" in set_cookies
    assert any(h.startswith("_fbp=;") and "Domain=.shop.test" in h for h in set_cookies)


def test_blocked_cookies_are_counted_per_page(gate_client: Client) -> None:
    client = gate_client()
    client.cookies.update({"_fbp": "leaked"})
    client.get("/echo?set=_ga")
    counts = gate_of(client).services.leaks.snapshot()
    assert counts[("request", "_fbp", "/echo")] == 1
    assert counts[("response", "_ga", "/echo")] == 1


def test_accept_all_passes_granted_cookies_untouched(gate_client: Client) -> None:
    client = gate_client()
    accept(client, ["functional", "analytics", "targeting"])
    client.cookies.update(TRACKERS)
    seen = client.get("/echo").json()
    assert {k: seen["cookies"][k] for k in TRACKERS} == TRACKERS
    response = client.get("/echo?set=_ga&set=_fbp&set=lang&set=mystery_id")
    assert names(response.headers.get_list("set-cookie")) == {"_ga", "_fbp", "lang", "mystery_id"}


def test_partial_consent_passes_only_its_categories(gate_client: Client) -> None:
    client = gate_client()
    accept(client, ["analytics"])
    client.cookies.update(TRACKERS)
    assert set(client.get("/echo").json()["cookies"]) == {"_ga", "session", "cookiegate"}
    response = client.get("/echo?set=_ga&set=_fbp&set=lang")
    assert names(response.headers.get_list("set-cookie")) == {"_ga"}


def test_gpc_denies_targeting_even_after_accept_all(gate_client: Client) -> None:
    client = gate_client()
    accept(client, ["functional", "analytics", "targeting"])
    client.cookies.update(TRACKERS)
    response = client.get("/echo?set=_fbp&set=_ga", headers={"Sec-GPC": "1"})
    assert "_fbp" not in response.json()["cookies"]
    assert "_ga" in response.json()["cookies"]
    assert names(response.headers.get_list("set-cookie")) == {"_ga"}
    assert "targeting" not in response.json()["granted"]


def test_under14_consent_denies_targeting_and_strips_marketing_params(gate_client: Client) -> None:
    client = gate_client()
    record = accept(client, ["functional", "analytics", "targeting"], under14=True)
    assert "targeting" not in record["granted"]
    client.cookies.update(TRACKERS)
    response = client.get("/echo?q=mug&utm_source=ig&UTM_Campaign=x&gclid=1&fbclid=2&utm%5Fmedium=3&page=2&set=_fbp")
    seen = response.json()
    assert seen["query"] == "q=mug&page=2&set=_fbp"
    assert "_fbp" not in seen["cookies"]
    assert "_fbp" not in names(response.headers.get_list("set-cookie"))


def test_adult_keeps_marketing_params(gate_client: Client) -> None:
    client = gate_client()
    accept(client, ["targeting"])
    assert client.get("/echo?utm_source=ig&q=1").json()["query"] == "utm_source=ig&q=1"


def test_app_hook_flags_minor(gate_client: Client) -> None:
    client = gate_client(is_minor=lambda scope: scope["path"] == "/echo")
    accept(client, ["functional", "analytics", "targeting"])
    seen = client.get("/echo?gclid=abc&x=1").json()
    assert seen["query"] == "x=1"
    assert seen["granted"] == ["necessary"]


def test_a_failing_minor_hook_fails_safe(gate_client: Client, caplog: pytest.LogCaptureFixture) -> None:
    def broken(scope: Scope) -> bool:
        raise RuntimeError("profile service down")

    client = gate_client(is_minor=broken)
    accept(client, ["targeting"])
    assert "targeting" not in client.get("/echo").json()["granted"]
    assert "is_minor" in caplog.text


def test_app_response_header_flags_minor_and_is_stripped(gate_client: Client) -> None:
    """The app's under-14 flag gates the response as a child's: no guardian consent, necessary only (제22조의2①)."""
    client = gate_client()
    accept(client, ["functional", "analytics", "targeting"])
    response = client.get("/echo?minor=1&set=_fbp&set=_ga&set=session")
    # The consent cookie comes back re-signed with the flag: the child's next requests stay protected.
    assert names(response.headers.get_list("set-cookie")) == {"session", "cookiegate"}
    assert "x-cookiegate-minor" not in response.headers
    seen = client.get("/echo?utm_source=x&q=1").json()
    assert seen["query"] == "q=1"
    assert "targeting" not in seen["granted"]


def test_child_directed_site_treats_everyone_as_minor(gate_client: Client) -> None:
    client = gate_client(child_directed=True)
    accept(client, ["functional", "analytics", "targeting"])
    seen = client.get("/echo?utm_source=x&a=b").json()
    assert seen["query"] == "a=b"
    assert "targeting" not in seen["granted"]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "",
        "e30.AAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBB",
        "\u00ff\u00fe" * 10,
        "a" * 5000,
    ],
)
def test_forged_or_malformed_consent_is_no_consent(gate_client: Client, token: str) -> None:
    client = gate_client()
    response = client.get("/echo", headers={b"cookie": f"cookiegate={token}; _fbp=1; _ga=2".encode("latin-1")})
    assert response.status_code == 200
    assert response.json()["granted"] == ["necessary"]
    assert set(response.json()["cookies"]) <= {"cookiegate"}


def test_consent_signed_with_another_key_is_no_consent(gate_client: Client) -> None:
    other = ConsentCodec(["another-secret-key-0123456789"], version=Policy.default().version, max_age_seconds=3600)
    token = other.encode(new_consent(["targeting"], version=Policy.default().version, under14=False))
    client = gate_client()
    assert client.get("/echo", headers={"cookie": f"cookiegate={token}"}).json()["granted"] == ["necessary"]


def test_tampered_consent_is_no_consent(gate_client: Client) -> None:
    client = gate_client()
    accept(client, ["analytics"])
    token = client.cookies["cookiegate"]
    payload, rest = token.split(".", 1)
    import base64

    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(b'"analytics"', b'"targeting"')
    forged = base64.urlsafe_b64encode(data).rstrip(b"=").decode() + "." + rest
    fresh = gate_client()
    assert fresh.get("/echo", headers={"cookie": f"cookiegate={forged}"}).json()["granted"] == ["necessary"]


def test_expired_consent_is_no_consent(gate_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    client = gate_client()
    accept(client, ["analytics"])
    token = client.cookies["cookiegate"]
    later = time.time() + 184 * 86_400
    monkeypatch.setattr(time, "time", lambda: later)
    fresh = gate_client()
    assert fresh.get("/echo", headers={"cookie": f"cookiegate={token}"}).json()["granted"] == ["necessary"]
    # A cached verification must expire too, not only a fresh one.
    assert client.get("/echo").json()["granted"] == ["necessary"]


def test_consent_under_an_older_policy_version_is_no_consent(gate_client: Client, tmp_path: Path) -> None:
    client = gate_client()
    accept(client, ["analytics"])
    token = client.cookies["cookiegate"]
    bumped = tmp_path / "policy.toml"
    bumped.write_text('version = "2027-01-01"\n', encoding="utf-8")
    renewed = gate_client(policy=Policy.load(bumped))
    seen = renewed.get("/echo", headers={"cookie": f"cookiegate={token}; _ga=1"}).json()
    assert seen["granted"] == ["necessary"]
    assert "_ga" not in seen["cookies"]


def test_key_rotation_keeps_older_consents_valid(gate_client: Client) -> None:
    old_key = "old-secret-key-0123456789abcdef"
    before = gate_client(secret_keys=[old_key])
    accept(before, ["analytics"])
    token = before.cookies["cookiegate"]
    rotated = gate_client(secret_keys=[old_key, "new-secret-key-0123456789abcdef"])
    assert rotated.get("/echo", headers={"cookie": f"cookiegate={token}"}).json()["granted"] == [
        "analytics",
        "necessary",
    ]
    new_token = accept(rotated, ["functional"]) and rotated.cookies["cookiegate"]
    # New consents are signed with the newest key: a gate that only knows the old key rejects them.
    assert before.get("/echo", headers={"cookie": f"cookiegate={new_token}"}).json()["granted"] == ["necessary"]


def test_vary_cookie_is_added_and_merged_where_consent_decides(gate_client: Client) -> None:
    client = gate_client()
    assert client.get("/echo?set=_ga").headers["vary"] == "Cookie"

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"vary", b"Accept-Encoding"), (b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    assert gate_client(app, lifespan=False).get("/").headers["vary"] == "Accept-Encoding, Cookie"


def test_responses_consent_cannot_change_keep_the_apps_headers(gate_client: Client) -> None:
    sent = [(b"content-type", b"text/css"), (b"etag", b'"v1"'), (b"set-cookie", b"session=a; Path=/")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": sent})
        await send({"type": "http.response.body", "body": b"p{}"})

    client = gate_client(app, lifespan=False)
    client.cookies.update({"session": "a"})
    response = client.get("/shop.css")
    assert "vary" not in response.headers  # a CDN may cache it once for every visitor
    assert response.headers.get_list("set-cookie") == ["session=a; Path=/"]
    client.cookies.update({"_fbp": "leaked"})
    assert client.get("/shop.css").headers["vary"] == "Cookie"  # now it carries an expiry for _fbp


@pytest.mark.parametrize("pair", [tuple, list], ids=["tuple-pairs", "list-pairs"])  # ASGI allows either
def test_repeated_cookie_headers_are_joined_and_filtered(tmp_path: Path, pair: type[tuple[bytes, ...]]) -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["headers"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate = CookieGate(app, secret_keys=[SECRET], access_log=False, data_dir=tmp_path)  # not ./cookiegate-data
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [
            pair(p) for p in ((b"cookie", b"_fbp=1; session=a"), (b"host", b"x"), (b"cookie", b"lang=ko; _ga=2"))
        ],
        "scheme": "http",
        "http_version": "1.1",
        "client": ("127.0.0.1", 5),
        "server": ("x", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    import asyncio

    asyncio.run(gate(scope, receive, send))
    cookie_headers = [v for n, v in seen[0] if n == b"cookie"]
    assert cookie_headers == [b"session=a"]
    assert (b"host", b"x") in [tuple(p) for p in seen[0]]
    assert sent[0]["status"] == 200


def test_bad_cookie_bytes_never_crash(gate_client: Client) -> None:
    client = gate_client()
    raw = b"\xff\xfe=\x80; ;;=; session=ok; =novalue; \xc3\x28=1; " + b"x" * 8000
    response = client.get("/echo", headers={b"cookie": raw})
    assert response.status_code == 200
    assert response.json()["cookies"] == {"session": "ok"}


def test_app_errors_still_propagate(gate_client: Client) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("app bug")

    client = gate_client(app, lifespan=False)
    client_no_raise = TestClient(client.app, raise_server_exceptions=False)
    assert client_no_raise.get("/").status_code == 500


def test_websocket_sees_only_granted_cookies(gate_client: Client) -> None:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(sorted(websocket.cookies))
        await websocket.close()

    client = gate_client(Starlette(routes=[WebSocketRoute("/ws", ws)]))
    with client.websocket_connect("/ws", headers={"cookie": "_fbp=1; session=a; _ga=2"}) as socket:
        assert socket.receive_json() == ["session"]


def test_lifespan_reaches_the_app(tmp_path: Path) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            events.append(message["type"])
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    with TestClient(CookieGate(app, secret_keys=[SECRET], data_dir=tmp_path)):
        pass
    assert events == ["lifespan.startup", "lifespan.shutdown"]


def test_configuration_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 3 months"):
        CookieGate(tiny_app(), secret_keys=[SECRET], retention_months=2, data_dir=tmp_path)
    with pytest.raises(ValueError, match="list of keys"):
        CookieGate(tiny_app(), secret_keys=SECRET, data_dir=tmp_path)
    with pytest.raises(ValueError, match="16 characters"):
        CookieGate(tiny_app(), secret_keys=["short"], data_dir=tmp_path)
    with pytest.raises(ValueError, match="prefix"):
        CookieGate(tiny_app(), secret_keys=[SECRET], prefix="/_cg/", data_dir=tmp_path)


def test_works_with_add_middleware(tmp_path: Path) -> None:
    app = tiny_app()
    app.add_middleware(CookieGate, secret_keys=[SECRET], data_dir=tmp_path)
    with TestClient(app) as client:
        client.cookies.update({"_fbp": "1", "session": "a"})
        assert client.get("/echo").json()["cookies"] == {"session": "a"}


def test_set_cookie_with_odd_spelling_or_no_name_is_still_gated(gate_client: Client) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"Set-Cookie", b"_fbp=1; Path=/"),
            (b"set-cookie", b"session; Path=/"),
            (b"SET-COOKIE", b"session=ok; Path=/"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    response = gate_client(app, lifespan=False).get("/")
    assert response.headers.get_list("set-cookie") == ["session=ok; Path=/"]


def test_websocket_without_cookies_still_gets_the_consent(gate_client: Client) -> None:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    from cookiegate import get_consent

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(sorted(get_consent(websocket.scope).granted))
        await websocket.close()

    client = gate_client(Starlette(routes=[WebSocketRoute("/ws", ws)]))
    with client.websocket_connect("/ws") as socket:
        assert socket.receive_json() == ["necessary"]


def test_websocket_accept_cannot_set_cookies_the_visitor_refused(gate_client: Client) -> None:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept(headers=[(b"set-cookie", b"_fbp=1; Path=/"), (b"set-cookie", b"session=s; Path=/")])
        await websocket.close()

    client = gate_client(Starlette(routes=[WebSocketRoute("/ws", ws)]))
    with client.websocket_connect("/ws") as socket:
        sent: list[tuple[bytes, bytes]] = socket.extra_headers or []
        set_cookies = [v for n, v in sent if n == b"set-cookie"]
    assert set_cookies == [b"session=s; Path=/"]


def test_websocket_url_of_a_child_loses_marketing_params(gate_client: Client) -> None:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.scope["query_string"].decode())
        await websocket.close()

    client = gate_client(Starlette(routes=[WebSocketRoute("/ws", ws)]), child_directed=True)
    with client.websocket_connect("/ws?gclid=1&room=7") as socket:
        assert socket.receive_text() == "room=7"

"""The consent API under /_cookiegate: what the banner and a visitor's browser get back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cookiegate import Policy
from cookiegate.api import choose_locale, safe_return_path
from tests.conftest import accept

Client = Callable[..., TestClient]


def test_policy_is_korean_by_default_and_english_on_request(gate_client: Client) -> None:
    client = gate_client()
    korean = client.get("/_cookiegate/policy").json()
    assert korean["locale"] == "ko"
    assert [c["key"] for c in korean["categories"]] == ["necessary", "functional", "analytics", "targeting"]
    assert korean["categories"][3]["name"] == "맞춤형 광고 쿠키"
    assert "거부해도 서비스 이용에 제한이 없습니다" in korean["categories"][2]["refusal_notice"]
    english = client.get("/_cookiegate/policy", headers={"Accept-Language": "en-GB,en;q=0.9,ko;q=0.3"}).json()
    assert english["locale"] == "en"
    assert english["categories"][0]["required"] is True
    assert english["consent"]["chosen"] is False


@pytest.mark.parametrize(
    ("header", "explicit", "expected"),
    [
        ("", None, "ko"),
        ("ko-KR,ko;q=0.9,en;q=0.8", None, "ko"),
        ("en-US,ko;q=0.5", None, "en"),
        ("fr-FR,fr;q=0.9", None, "en"),
        ("ko;q=0.2,en;q=0.9", None, "en"),
        ("en;q=abc,ko", None, "ko"),
        ("en", "ko", "ko"),
    ],
)
def test_locale_choice(header: str, explicit: str | None, expected: str) -> None:
    assert choose_locale(header, explicit) == expected


def test_consent_cookie_is_httponly_lax_and_secure_on_https(gate_client: Client) -> None:
    client = gate_client()
    response = client.post("/_cookiegate/consent", json={"granted": ["analytics"], "under14": False})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("cookiegate="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    secure = TestClient(client.app, base_url="https://shop.test")
    response = secure.post("/_cookiegate/consent", json={"granted": [], "under14": False})
    assert "Secure" in next(h for h in response.headers.get_list("set-cookie") if h.startswith("cookiegate="))


def test_get_consent_reports_the_current_choice(gate_client: Client) -> None:
    client = gate_client()
    assert client.get("/_cookiegate/consent").json()["consent"]["chosen"] is False
    given = accept(client, ["analytics"])
    current = client.get("/_cookiegate/consent").json()["consent"]
    assert current["consent_id"] == given["consent_id"]
    assert current["granted"] == ["necessary", "analytics"]


def test_changing_consent_keeps_the_consent_id(gate_client: Client) -> None:
    client = gate_client()
    first = accept(client, ["analytics"])
    second = accept(client, ["functional"])
    assert first["consent_id"] == second["consent_id"]


def test_withdrawal_keeps_necessary_and_expires_the_rest(gate_client: Client) -> None:
    client = gate_client()
    accept(client, ["functional", "analytics", "targeting"])
    client.get("/echo?set=_ga&set=_fbp&set=lang&set=session")
    assert set(client.cookies.keys()) == {"_ga", "_fbp", "lang", "session", "cookiegate"}
    response = client.delete("/_cookiegate/consent")
    assert response.json()["consent"]["granted"] == ["necessary"]
    expired = {h.split("=", 1)[0] for h in response.headers.get_list("set-cookie") if "Max-Age=0" in h}
    assert expired == {"_ga", "_fbp", "lang"}
    assert set(client.cookies.keys()) == {"session", "cookiegate"}
    assert set(client.get("/echo").json()["cookies"]) == {"session", "cookiegate"}


def test_form_post_without_javascript(gate_client: Client) -> None:
    client = gate_client()
    response = client.post(
        "/_cookiegate/consent",
        data={"choice": "reject_all", "return_to": "/echo?x=1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/echo?x=1"
    assert client.get("/_cookiegate/consent").json()["consent"]["chosen"] is True
    client.post("/_cookiegate/consent", data={"granted": ["analytics", "functional"]}, follow_redirects=False)
    assert client.get("/_cookiegate/consent").json()["consent"]["granted"] == ["necessary", "functional", "analytics"]
    client.post("/_cookiegate/consent", data={"choice": "accept_all", "under14": "1"}, follow_redirects=False)
    assert "targeting" not in client.get("/_cookiegate/consent").json()["consent"]["granted"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/cart", "/cart"), ("//evil.test/x", "/"), ("https://evil.test", "/"), ("/\\evil.test", "/"), ("", "/")],
)
def test_form_redirect_stays_on_site(target: str, expected: str) -> None:
    assert safe_return_path(target) == expected


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Origin": "https://evil.test"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": "http://shop.test", "Sec-Fetch-Site": "same-origin"}, 200),
        ({}, 200),
    ],
)
def test_cross_site_changes_are_refused(gate_client: Client, headers: dict[str, str], status: int) -> None:
    client = gate_client()
    response = client.post("/_cookiegate/consent", json={"granted": ["targeting"], "under14": False}, headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"] == "cross_site"
        assert "cookiegate" not in client.cookies
        assert client.delete("/_cookiegate/consent", headers=headers).status_code == 403


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"\xff\xfe\x00", "application/json", 400, "invalid_json"),
        (b"[]", "application/json", 422, "invalid_body"),
        (b'{"granted": "all"}', "application/json", 422, "invalid_granted"),
        (b'{"granted": ["marketing"]}', "application/json", 422, "unknown_category"),
        (b'{"granted": [1]}', "application/json", 422, "unknown_category"),
        (b'{"granted": [], "under14": "no"}', "application/json", 422, "invalid_under14"),
        (b'{"granted": [], "locale": "fr"}', "application/json", 422, "invalid_locale"),
        (b'{"granted": [], "method": "gpc"}', "application/json", 422, "invalid_method"),
        (b"granted=analytics", "text/plain", 415, "unsupported_media_type"),
        (b"choice=everything", "application/x-www-form-urlencoded", 422, "invalid_choice"),
        (b"granted=%FF\xff", "application/x-www-form-urlencoded", 400, "invalid_form"),
        (b'{"granted": [' + b'"analytics",' * 3000 + b'"analytics"]}', "application/json", 413, "too_large"),
        (b'{"granted": [' + b"[" * 1000 + b"]" * 1000 + b"]}", "application/json", 422, "unknown_category"),
        (b"[" * 2000 + b"]" * 2000, "application/json", 400, "invalid_json"),
        (b'{"granted": [], "method": []}', "application/json", 422, "invalid_method"),
        (b"&".join(b"f%d=1" % i for i in range(60)), "application/x-www-form-urlencoded", 413, "too_many_fields"),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(
    gate_client: Client, body: bytes, content_type: str, status: int, error: str
) -> None:
    client = gate_client()
    response = client.post("/_cookiegate/consent", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "cookiegate" not in client.cookies


def test_unknown_routes_and_methods(gate_client: Client) -> None:
    client = gate_client()
    assert client.get("/_cookiegate/nope").status_code == 404
    assert client.put("/_cookiegate/consent", json={}).status_code == 405
    assert client.post("/_cookiegate/policy").status_code == 405
    assert client.get("/_cookiegate/static/../../pyproject.toml").status_code == 404
    assert client.get("/_cookiegate/static/.hidden.js").status_code == 404


def test_custom_prefix(gate_client: Client) -> None:
    client = gate_client(prefix="/consent-gate")
    assert client.get("/consent-gate/policy").status_code == 200
    assert client.post("/consent-gate/consent", json={"granted": [], "under14": False}).status_code == 200


def test_gpc_visitor_cannot_grant_targeting(gate_client: Client) -> None:
    client = gate_client()
    response = client.post(
        "/_cookiegate/consent", json={"granted": ["analytics", "targeting"], "under14": False}, headers={"Sec-GPC": "1"}
    )
    assert response.json()["consent"]["granted"] == ["necessary", "analytics"]
    assert response.json()["consent"]["gpc"] is True


@pytest.mark.parametrize(
    "url",
    [
        "/_cookiegate/policy?locale=%FF%FE",
        "/_cookiegate/policy?locale=" + "x" * 5000,
        "/_cookiegate/static/%00.js",
        "/_cookiegate/static/" + "a" * 300 + ".js",
        "/_cookiegate/consent?%ZZ=1",
        "/_cookiegate",
        "/_cookiegate/",
    ],
)
def test_odd_urls_never_500(gate_client: Client, url: str) -> None:
    response = gate_client().get(url)
    assert 200 <= response.status_code < 500


def test_huge_and_binary_headers_never_500(gate_client: Client) -> None:
    client = gate_client()
    headers = {
        b"cookie": b"a=" + b"\xff" * 60_000 + b"; _fbp=1; session=s",
        b"accept-language": b"\xff\xfe" * 1000,
        b"user-agent": b"bot\xff" * 2000,
        b"sec-gpc": b"\xff",
    }
    assert client.get("/echo", headers=headers).json()["cookies"] == {"session": "s"}
    assert client.get("/_cookiegate/policy", headers=headers).status_code == 200
    response = client.post("/_cookiegate/consent", json={"granted": []}, headers=headers)
    assert response.status_code == 200


def test_consent_history_is_the_visitors_own_with_truncated_ip(gate_client: Client) -> None:
    client = gate_client(trusted_proxies=["127.0.0.0/8"])
    proxied = TestClient(client.app, base_url="http://shop.test", client=("127.0.0.1", 50000))
    headers = {"X-Forwarded-For": "203.0.113.77"}
    proxied.post(
        "/_cookiegate/consent", json={"granted": ["analytics"], "under14": False, "method": "banner"}, headers=headers
    )
    proxied.delete("/_cookiegate/consent", headers=headers)
    history = proxied.get("/_cookiegate/consent").json()["history"]
    assert [(e["method"], e["granted"]) for e in history] == [
        ("banner", ["necessary", "analytics"]),
        ("withdrawal", ["necessary"]),
    ]
    assert {e["ip_prefix"] for e in history} == {"203.0.113.0/24"}
    stranger = TestClient(client.app, base_url="http://shop.test")
    stranger.post("/_cookiegate/consent", json={"granted": [], "under14": False})
    assert stranger.get("/_cookiegate/consent").json()["history"][0]["granted"] == ["necessary"]
    assert len(stranger.get("/_cookiegate/consent").json()["history"]) == 1


def test_narrowing_lists_the_cookie_names_the_banner_must_clear(gate_client: Client) -> None:
    client = gate_client()
    accept(client, ["functional", "analytics", "targeting"])
    client.get("/echo?set=_ga&set=_fbp&set=lang")
    response = client.post(
        "/_cookiegate/consent",
        json={"granted": ["functional"], "under14": False, "cookies": ["_ga", "_fbp", "lang", "_gcl_au", "x_unknown"]},
    )
    assert set(response.json()["expired"]) == {"_ga", "_fbp", "_gcl_au", "x_unknown"}
    bad = client.post("/_cookiegate/consent", json={"granted": [], "cookies": ["a"] * 500})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_cookies"


def test_policy_change_re_asks_and_records_a_renewal(gate_client: Client, tmp_path: Path) -> None:
    client = gate_client()
    first = accept(client, ["analytics"], under14=True)
    token = client.cookies["cookiegate"]
    bumped = tmp_path / "policy.toml"
    bumped.write_text('version = "2027-01-01"\neffective_date = "2027-01-01"\n', encoding="utf-8")
    renewed = gate_client(policy=Policy.load(bumped))
    renewed.cookies.set("cookiegate", token, domain="shop.test")
    current = renewed.get("/_cookiegate/consent").json()["consent"]
    assert (current["chosen"], current["consent_id"], current["under14"]) == (False, first["consent_id"], True)
    again = accept(renewed, ["analytics", "targeting"])
    assert again["consent_id"] == first["consent_id"]
    assert again["under14"] is True and "targeting" not in again["granted"]
    methods = [e["method"] for e in renewed.get("/_cookiegate/consent").json()["history"]]
    assert methods == ["api", "policy-renewal"]


@pytest.mark.parametrize("host", ["[", "shop.test:99999", "a b", "\u00ff"])
def test_a_broken_host_header_is_no_500(gate_client: Client, host: str) -> None:
    client = gate_client()
    headers = {b"host": host.encode("utf-8")}
    assert client.get("/_cookiegate/policy", headers=headers).status_code == 200
    assert client.post("/_cookiegate/consent", json={"granted": []}, headers=headers).status_code == 200


@pytest.mark.parametrize("length", ["9" * 5000, "١٢", "-1", "1e3"])
def test_a_broken_content_length_is_a_413(gate_client: Client, length: str) -> None:
    client = gate_client()
    response = client.post(
        "/_cookiegate/consent",
        content=b'{"granted": []}',
        headers={b"content-type": b"application/json", b"content-length": length.encode()},
    )
    assert response.status_code == 413

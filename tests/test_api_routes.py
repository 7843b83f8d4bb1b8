"""The consent API's routing: which path answers what, and that no URL or header makes it fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

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


@pytest.mark.parametrize("host", ["[", "shop.test:99999", "a b", "\u00ff"])
def test_a_broken_host_header_is_no_500(gate_client: Client, host: str) -> None:
    client = gate_client()
    headers = {b"host": host.encode("utf-8")}
    assert client.get("/_cookiegate/policy", headers=headers).status_code == 200
    assert client.post("/_cookiegate/consent", json={"granted": []}, headers=headers).status_code == 200


def test_banner_files_are_cacheable_and_api_answers_are_not(gate_client: Client) -> None:
    client = gate_client()
    script = client.get("/_cookiegate/static/cookiegate.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "public, max-age=3600"
    assert client.get("/_cookiegate/policy").headers["cache-control"] == "no-store"
    assert client.get("/_cookiegate/nope").headers["cache-control"] == "no-store"


def test_policy_versions_answer_with_and_without_a_trailing_slash(gate_client: Client) -> None:
    client = gate_client()
    listing = client.get("/_cookiegate/policy/versions")
    assert listing.status_code == 200
    assert client.get("/_cookiegate/policy/versions/").json() == listing.json()
    missing = client.get("/_cookiegate/policy/versions/1999-01-01")
    assert missing.status_code == 404 and "1999-01-01" in missing.json()["detail"]
    assert client.post("/_cookiegate/policy/versions").status_code == 405


def test_the_guardian_route_only_takes_a_signed_post(gate_client: Client) -> None:
    client = gate_client()
    assert client.get("/_cookiegate/guardian").status_code == 405
    unsigned = client.post("/_cookiegate/guardian", json={"consent_id": "x"})
    assert 400 <= unsigned.status_code < 500 and unsigned.json()["error"]

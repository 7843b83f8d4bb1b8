"""Recording a choice or a withdrawal: the cookie set, the cookies expired, the ledger's events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from cookiegate import Policy
from tests.conftest import accept

Client = Callable[..., TestClient]


def test_consent_cookie_is_httponly_lax_and_secure_on_https(gate_client: Client) -> None:
    client = gate_client()
    response = client.post("/_cookiegate/consent", json={"granted": ["analytics"], "under14": False})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("cookiegate="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    attributes = dict(part.strip().partition("=")[::2] for part in cookie.split(";")[1:])
    assert attributes["Path"] == "/" and int(attributes["Max-Age"]) == Policy.default().consent_max_age_days * 86_400
    secure = TestClient(client.app, base_url="https://shop.test")
    response = secure.post("/_cookiegate/consent", json={"granted": [], "under14": False})
    assert "Secure" in next(h for h in response.headers.get_list("set-cookie") if h.startswith("cookiegate="))


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


def test_gpc_visitor_cannot_grant_targeting(gate_client: Client) -> None:
    client = gate_client()
    response = client.post(
        "/_cookiegate/consent", json={"granted": ["analytics", "targeting"], "under14": False}, headers={"Sec-GPC": "1"}
    )
    assert response.json()["consent"]["granted"] == ["necessary", "analytics"]
    assert response.json()["consent"]["gpc"] is True


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

"""A visitor's own consent record (개인정보 보호법 제35조): GET consent and the my-data page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from cookiegate import CookieGate
from tests.conftest import SECRET, accept, tiny_app

Client = Callable[..., TestClient]


def test_get_consent_reports_the_current_choice(gate_client: Client) -> None:
    client = gate_client()
    assert client.get("/_cookiegate/consent").json()["consent"]["chosen"] is False
    given = accept(client, ["analytics"])
    current = client.get("/_cookiegate/consent").json()["consent"]
    assert current["consent_id"] == given["consent_id"]
    assert current["granted"] == ["necessary", "analytics"]


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


def test_a_visitor_who_never_chose_has_an_empty_history(gate_client: Client) -> None:
    answer = gate_client().get("/_cookiegate/consent").json()
    assert answer["history"] == [] and answer["consent"]["chosen"] is False


def test_the_my_data_page_shows_the_visitors_events_in_their_language(gate_client: Client) -> None:
    client = gate_client()
    given = accept(client, ["analytics"])
    page = client.get("/_cookiegate/my-data", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and page.headers["content-language"] == "en"
    assert given["consent_id"] in page.text and "text/html" in page.headers["content-type"]
    assert client.get("/_cookiegate/my-data?locale=ko").headers["content-language"] == "ko"


def test_an_unreadable_store_is_a_503_on_the_my_data_page_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    gate = CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data)
    client = TestClient(gate, base_url="http://shop.test")
    accept(client, ["analytics"])
    (data / "ledger.db").write_bytes(b"this is not a database" * 100)
    page = client.get("/_cookiegate/my-data")
    assert (page.status_code, page.json()["error"]) == (503, "ledger_unavailable")
    assert "retry later" in page.json()["detail"]
    gate.services.stop()

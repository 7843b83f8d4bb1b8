"""GPC as a consent method: recorded once per visitor and policy version (개인정보 보호법 제22조: proof of consent,
including the browser's standing refusal)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from starlette.testclient import TestClient

from cookiegate.consent import new_consent
from cookiegate.policy import Policy
from cookiegate.records.gpc import SEEN_LIMIT, GpcEvents
from cookiegate.records.ledger import ConsentLedger
from tests.conftest import accept

Client = Callable[..., TestClient]


def test_article22_gpc_signal_is_recorded_once_per_visitor_and_version(gate_client: Client) -> None:
    client = gate_client()
    accept(client, ["analytics", "targeting"])
    for _ in range(3):
        assert "targeting" not in client.get("/echo", headers={"Sec-GPC": "1"}).json()["granted"]
    client.get("/echo")  # no signal: nothing recorded
    history = client.get("/_cookiegate/consent").json()["history"]
    assert [event["method"] for event in history] == ["api", "gpc"]
    assert history[-1]["gpc"] is True and "targeting" not in history[-1]["granted"]


def test_article22_choice_made_while_gpc_is_on_is_recorded_as_such(gate_client: Client) -> None:
    client = gate_client()
    response = client.post("/_cookiegate/consent", json={"granted": ["targeting"], "under14": False},
                           headers={"Sec-GPC": "1"})  # fmt: skip
    assert response.status_code == 200
    (event,) = client.get("/_cookiegate/consent").json()["history"]
    assert event["gpc"] is True and event["granted"] == ["necessary"]


def test_article22_a_new_policy_version_records_the_gpc_signal_again(gate_client: Client, tmp_path: Path) -> None:
    """Gap 5: the event is per visitor *and* policy version, so the proof covers the text in force."""
    old = gate_client()
    accept(old, ["analytics"])
    old.get("/echo", headers={"Sec-GPC": "1"})
    site = tmp_path / "v2.toml"
    site.write_text('version = "2027-01-01"\neffective_date = 2027-01-01\n')
    new = gate_client(policy=Policy.load(site))
    new.cookies = old.cookies
    for _ in range(2):
        new.get("/echo", headers={"Sec-GPC": "1"})
    history = new.get("/_cookiegate/consent").json()["history"]
    gpc = [(e["policy_version"], e["policy_sha256"]) for e in history if e["method"] == "gpc"]
    assert [version for version, _ in gpc] == [Policy.default().version, "2027-01-01"] and gpc[0][1] != gpc[1][1]


def test_article22_a_gpc_visitor_who_never_chooses_is_recorded_once(gate_client: Client) -> None:
    """Gap 5: the refusal is proven without a click; the receipt is no choice, so the banner still asks."""
    client = gate_client()
    first = client.get("/page", headers={"Sec-GPC": "1"})
    assert first.headers["set-cookie"].startswith("cookiegate=")
    for _ in range(2):
        again = client.get("/page", headers={"Sec-GPC": "1"})
        assert "set-cookie" not in again.headers
    state = client.get("/_cookiegate/consent", headers={"Sec-GPC": "1"}).json()
    assert state["consent"]["chosen"] is False and state["consent"]["granted"] == ["necessary"]
    # The history is looked up by the receipt's consent id: the event is tied to this visitor.
    assert [(event["method"], event["gpc"]) for event in state["history"]] == [("gpc", True)]


def test_a_later_choice_keeps_the_gpc_receipts_id(gate_client: Client) -> None:
    client = gate_client()
    client.get("/page", headers={"Sec-GPC": "1"})
    receipt = client.cookies["cookiegate"]
    accept(client, ["analytics"])
    assert client.cookies["cookiegate"] != receipt
    history = client.get("/_cookiegate/consent").json()["history"]  # looked up by the choice's consent id
    assert [event["method"] for event in history] == ["gpc", "api"]


def test_without_the_signal_or_on_non_html_responses_no_receipt_is_issued(gate_client: Client) -> None:
    client = gate_client()
    assert "set-cookie" not in client.get("/page").headers
    assert "set-cookie" not in client.get("/echo", headers={"Sec-GPC": "1"}).headers
    assert client.get("/_cookiegate/consent").json()["history"] == []


def test_the_seen_visitors_stay_within_their_bound_and_each_new_one_is_recorded(tmp_path: Path) -> None:
    ledger = ConsentLedger(tmp_path / "ledger", f"sqlite:///{tmp_path / 'ledger.db'}")
    events = GpcEvents(ledger)
    visitors = [
        replace(new_consent(["analytics"], version="v1", under14=False), gpc=True) for _ in range(SEEN_LIMIT + 500)
    ]
    for consent in visitors:
        events.note(consent)
        events.note(consent)  # the same visitor again: no second event
    assert len(events._seen) == SEEN_LIMIT
    assert ledger.spool.appended == SEEN_LIMIT + 500
    events.note(visitors[-1])  # still remembered: the newest stay
    events.note(visitors[0])  # forgotten first (the oldest): recorded again, which is harmless
    assert ledger.spool.appended == SEEN_LIMIT + 501
    ledger.spool.close()

"""GPC as a consent method: recorded once per visitor and policy version (개인정보 보호법 제22조: proof of consent,
including the browser's standing refusal)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from starlette.testclient import TestClient

from cookiegate.consent import new_consent
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

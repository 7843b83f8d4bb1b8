"""The consent ledger: truncated addresses, a visitor's history, and a hash chain that exposes edits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cookiegate.consent import Consent
from cookiegate.ledger import ConsentLedger, truncate_ip
from cookiegate.stores.sqlite import SQLiteLedgerStore


def ledger_at(path: Path) -> ConsentLedger:
    return ConsentLedger(SQLiteLedgerStore(path), clock=lambda: 1_747_000_000_000)


def consent(cid: str, *granted: str, under14: bool = False) -> Consent:
    return Consent(granted=frozenset({"necessary", *granted}), version="2025-05", consent_id=cid,  # type: ignore[arg-type]
                   under14=under14, chosen=True)


def test_only_a_network_prefix_is_kept() -> None:
    assert truncate_ip("203.0.113.77") == "203.0.113.0/24"
    assert truncate_ip("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert truncate_ip("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert truncate_ip("garbage") is None and truncate_ip(None) is None


def test_history_is_the_visitors_own_events_oldest_first(tmp_path: Path) -> None:
    ledger = ledger_at(tmp_path / "ledger.db")
    ledger.record(consent("a", "analytics"), method="banner", locale="ko", client_ip="203.0.113.77")
    ledger.record(consent("b", "targeting"), method="api", locale="en", client_ip=None)
    ledger.record(consent("a"), method="withdrawal", locale="ko", client_ip="203.0.113.77")
    history = ledger.history("a")
    assert [(e["method"], e["granted"]) for e in history] == [
        ("banner", ["necessary", "analytics"]), ("withdrawal", ["necessary"])
    ]
    assert history[0]["ip_prefix"] == "203.0.113.0/24"
    assert b"203.0.113.77" not in (tmp_path / "ledger.db").read_bytes() + _wal(tmp_path / "ledger.db")


def _wal(db: Path) -> bytes:
    wal = Path(f"{db}-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_editing_or_deleting_a_row_breaks_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    ledger = ledger_at(db)
    for i in range(5):
        ledger.record(consent(f"v{i}", "analytics"), method="banner", locale="ko", client_ip="192.0.2.1")
    assert ledger.verify().ok and ledger.verify().checked == 5

    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE consent_events SET granted = 'necessary,analytics,targeting' WHERE seq = 3")
    raw.close()
    check = ledger.verify()
    assert not check.ok and check.broken_at == 3 and "changed" in check.reason

    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM consent_events WHERE seq = 3")
    raw.close()
    check = ledger.verify()
    assert not check.ok and check.broken_at == 3 and "missing" in check.reason


def test_two_writers_keep_one_chain(tmp_path: Path) -> None:
    first, second = ledger_at(tmp_path / "ledger.db"), ledger_at(tmp_path / "ledger.db")
    for i in range(10):
        (first if i % 2 else second).record(consent(f"x{i}"), method="api", locale="ko", client_ip=None)
    assert first.verify().ok and first.verify().checked == 10

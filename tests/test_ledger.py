"""The consent ledger: truncated addresses, a visitor's history, and one hash chain that exposes edits."""

from __future__ import annotations

import ipaddress
import multiprocessing
import sqlite3
from collections.abc import Callable
from pathlib import Path

from cookiegate.consent import Consent
from cookiegate.records.chain import verify
from cookiegate.records.channels import spool_root
from cookiegate.records.ledger import ConsentLedger, truncate_ip
from cookiegate.records.types import LedgerEvent
from cookiegate.stores import open_ledger_store
from cookiegate.stores.sqlite_ledger import SQLiteLedgerStore
from tests.store_support import drain


def ledger_at(data: Path) -> ConsentLedger:
    url = f"sqlite:///{data / 'ledger.db'}"
    return ConsentLedger(spool_root(data) / "ledger", url, clock=lambda: 1_747_000_000_000)


def consent(cid: str, *granted: str, under14: bool = False) -> Consent:
    return Consent(granted=frozenset({"necessary", *granted}), version="2025-05", consent_id=cid,  # type: ignore[arg-type]
                   under14=under14, chosen=True)  # fmt: skip


def check(data: Path) -> tuple[bool, int, str]:
    store = SQLiteLedgerStore(data / "ledger.db")
    try:
        result = verify(store.rows())
    finally:
        store.close()
    return result.ok, result.checked, result.reason


def test_only_a_network_prefix_is_kept() -> None:
    assert truncate_ip("203.0.113.77") == "203.0.113.0/24"
    assert truncate_ip("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert truncate_ip("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert truncate_ip("garbage") is None and truncate_ip(None) is None


def _network_by_ipaddress(address: str) -> str | None:
    """What ``ipaddress`` alone makes of ``address``: the answer the IPv4 shortcut must give too."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return str(ipaddress.ip_network(f"{parsed}/{24 if parsed.version == 4 else 48}", strict=False))


def test_the_ipv4_shortcut_agrees_with_ipaddress_on_odd_addresses() -> None:
    # Leading zeros, out-of-range and non-ASCII digits, signs, spaces and wrong part counts: each is either
    # the same network or None, exactly as ``ipaddress`` says.
    odd = [
        "0.0.0.0", "255.255.255.255", " 10.1.2.3 ", "01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3.256", "1.2.3",
        "1.2.3.4.5", "1..3.4", "+1.2.3.4", "1.2.3.-4", "1.2.3.0004", "١.2.3.4", "1.2.3.4\n", "1. 2.3.4", "",
        "999.1.1.1", "1.2.3.4/24", "::1", "::ffff:10.9.8.7",
    ]  # fmt: skip
    for address in odd:
        assert truncate_ip(address) == _network_by_ipaddress(address), address
    assert truncate_ip("192.0.2.200") == "192.0.2.0/24"


def test_history_shows_a_choice_at_once_and_after_ingest_exactly_once(tmp_path: Path) -> None:
    ledger = ledger_at(tmp_path)
    ledger.record(consent("a", "analytics"), method="banner", locale="ko", client_ip="203.0.113.77")
    ledger.record(consent("b", "targeting"), method="api", locale="en", client_ip=None)
    ledger.record(consent("a"), method="withdrawal", locale="ko", client_ip="203.0.113.77")
    expected = [("banner", ["necessary", "analytics"]), ("withdrawal", ["necessary"])]
    assert [(e["method"], e["granted"]) for e in ledger.history("a")] == expected, "read from the spool"
    drain(tmp_path)
    history = ledger.history("a")
    assert [(e["method"], e["granted"]) for e in history] == expected, "stored, and not doubled by the spool"
    assert history[0]["ip_prefix"] == "203.0.113.0/24"
    ledger.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"203.0.113.77" not in on_disk, "neither the spool nor the store holds the full address"


def test_editing_or_deleting_a_row_breaks_the_chain(tmp_path: Path) -> None:
    ledger = ledger_at(tmp_path)
    for i in range(5):
        ledger.record(consent(f"v{i}", "analytics"), method="banner", locale="ko", client_ip="192.0.2.1")
    drain(tmp_path)
    assert check(tmp_path) == (True, 5, "")
    db = tmp_path / "ledger.db"
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE consent_events SET granted = 'necessary,analytics,targeting' WHERE seq = 3")
    raw.close()
    assert check(tmp_path) == (False, 2, "content was changed")
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM consent_events WHERE seq = 3")
    raw.close()
    assert check(tmp_path) == (False, 2, "event 3 missing")


def _append_many(url: str, worker: int) -> None:
    store = open_ledger_store(url)
    for i in range(40):
        event = LedgerEvent(i, f"w{worker}-{i}", "2025-05", "ko", "necessary", "api", 0, 0, 0, None)
        store.append([event, event._replace(consent_id=f"w{worker}-{i}b")], segment=f"w{worker}", offset=i + 1)
    store.close()


def test_four_processes_appending_at_once_keep_one_unbroken_chain(store_url: Callable[[str], str]) -> None:
    url = store_url("ledger")
    open_ledger_store(url, create=True).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(url, n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    store = open_ledger_store(url)
    result = verify(store.rows())
    store.close()
    assert (result.ok, result.checked, result.reason) == (True, 4 * 40 * 2, "")


def test_history_answers_a_clear_503_when_the_ledger_cannot_be_read(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from cookiegate import CookieGate
    from tests.conftest import SECRET, tiny_app

    data = tmp_path / "data"
    gate = CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data)
    client = TestClient(gate, base_url="http://shop.test")
    assert client.post("/_cookiegate/consent", json={"granted": ["analytics"], "under14": False}).status_code == 200
    data.mkdir(parents=True, exist_ok=True)
    (data / "ledger.db").write_bytes(b"this is not a database" * 100)
    answer = client.get("/_cookiegate/consent")
    assert answer.status_code == 503 and answer.json()["error"] == "ledger_unavailable"
    gate.services.stop()

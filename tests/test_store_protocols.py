"""Every store backend behaves the same through the protocols: run once on SQLite, once on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from cookiegate.crypto import KeyRing, NamedKey
from cookiegate.records.chain import verify
from cookiegate.records.sealing import RecordSealer
from cookiegate.records.types import AccessRecord, LedgerEvent
from cookiegate.stores import StoreMissingError, open_access_store, open_aggregates_store, open_ledger_store
from cookiegate.stores.protocols import Disclosure, LedgerStats

DAY_MS = 86_400_000
NOW_MS = 1_795_000_000_000
OLD_MS = NOW_MS - 120 * DAY_MS


def record(ts_ms: int, path: str, ip: str = "203.0.113.5") -> AccessRecord:
    return AccessRecord(ts_ms, ip, 50_000, "10.0.0.2", "203.0.113.5, 10.0.0.2", "shop.test", "GET", path, 200,
                        "HTTP/1.1", 512, 900, "ok")  # fmt: skip


def event(consent_id: str) -> LedgerEvent:
    return LedgerEvent(NOW_MS, consent_id, "2025-05", "ko", "necessary,analytics", "banner", 1, 0, 1, None)


def test_a_store_that_does_not_exist_is_an_error(store_url: Callable[[str], str]) -> None:
    with pytest.raises(StoreMissingError):
        open_access_store(store_url("access"))
    with pytest.raises(StoreMissingError):
        open_ledger_store(store_url("ledger"))
    with pytest.raises(StoreMissingError):
        open_aggregates_store(store_url("aggregates"))


def test_records_come_back_as_stored_in_time_order(store_url: Callable[[str], str]) -> None:
    store = open_access_store(store_url("access"), create=True)
    batch = [record(NOW_MS + 5, "/b"), record(NOW_MS + 1, "/a", "198.51.100.7"), record(NOW_MS + 9, "/c")]
    store.ingest(batch, segment="seg", offset=300)
    assert store.spool_offset("seg") == 300 and store.spool_offset("other") == 0
    assert list(store.records(0, 2**62)) == sorted(batch)
    assert [r.path for r in store.records(NOW_MS + 2, NOW_MS + 9)] == ["/b"]
    assert store.count(0, 2**62, "198.51.100.0/24") == 1 and store.count(0, 2**62, "203.0.113.5") == 2
    store.forget_segment("seg")
    assert store.spool_offset("seg") == 0
    stats = store.stats()
    assert (stats.records, stats.oldest_ms, stats.newest_ms) == (3, NOW_MS + 1, NOW_MS + 9)
    store.close()


def test_purge_removes_old_days_keeps_held_and_recent_records(store_url: Callable[[str], str]) -> None:
    store = open_access_store(store_url("access"), create=True)
    store.ingest(
        [record(OLD_MS, "/held", "198.51.100.1"), record(OLD_MS + 1, "/gone", "198.51.100.2"), record(NOW_MS, "/new")],
        segment="s", offset=1,
    )  # fmt: skip
    store.add_hold("198.51.100.1", OLD_MS - DAY_MS, OLD_MS + DAY_MS, "court order 17", now_ms=NOW_MS)
    result = store.purge_before(NOW_MS - 90 * DAY_MS, now_ms=NOW_MS)
    assert (result.removed, result.kept_by_hold) == (1, 1) and result.partitions_dropped >= 1
    assert sorted(r.path for r in store.records(0, 2**62)) == ["/held", "/new"]
    assert [line["removed"] for line in store.audit_lines()] == [1]
    with pytest.raises(ValueError, match="reason"):
        store.add_hold("198.51.100.1", OLD_MS, NOW_MS, " ", now_ms=NOW_MS)
    store.close()


def test_disclosures_are_recorded(store_url: Callable[[str], str]) -> None:
    store = open_access_store(store_url("access"), create=True)
    entry = Disclosure(NOW_MS, "Seoul police", "2025-123", OLD_MS, NOW_MS, "192.0.2.1", 2, "/tmp/x.jsonl", "ab" * 32)
    store.add_disclosure(entry)
    assert store.disclosures() == [entry]
    store.close()


def test_article13_the_disclosure_ledger_is_kept_seven_years_then_dropped(store_url: Callable[[str], str]) -> None:
    """통신비밀보호법 제13조⑦ (gap 7): each disclosure is kept 7 years, then the daily purge drops it."""
    store = open_access_store(store_url("access"), create=True)
    year = 365 * DAY_MS
    older, younger = (
        Disclosure(NOW_MS - age, "police", f"permit {age}", OLD_MS, NOW_MS, "192.0.2.1", 1, "/tmp/x.jsonl", "ab" * 32)
        for age in (7 * year + 10 * DAY_MS, 7 * year - DAY_MS)
    )
    store.add_disclosure(older)
    store.add_disclosure(younger)
    store.purge_before(NOW_MS - 90 * DAY_MS, now_ms=NOW_MS)
    assert store.disclosures() == [younger]
    store.close()


def test_the_ledger_is_one_chain_and_a_visitors_history(store_url: Callable[[str], str]) -> None:
    store = open_ledger_store(store_url("ledger"), create=True)
    first = store.append([event("a"), event("b")], segment="s", offset=2)
    second = store.append([event("a")], segment="s", offset=3)
    assert [e.seq for e in first + second] == [1, 2, 3] and second[0].prev_hash == first[1].hash
    assert [e.seq for e in store.history("a")] == [1, 3]
    assert verify(store.rows()).ok and store.stats().head_seq == 3 and store.spool_offset("s") == 3
    store.close()


def test_a_hold_by_lookup_tag_keeps_sealed_records_past_the_purge(store_url: Callable[[str], str]) -> None:
    """개인정보 보호법 제29조: a sealed store's rows carry the address's lookup tag; a hold names that tag."""
    sealer = RecordSealer(KeyRing((NamedKey("e1", os.urandom(32)),), (NamedKey("l1", os.urandom(32)),)))
    held, gone = (sealer.seal_record(record(OLD_MS + i, path, ip)) for i, (path, ip) in
                  enumerate((("/held", "198.51.100.1"), ("/gone", "198.51.100.2"))))  # fmt: skip
    store = open_access_store(store_url("access"), create=True)
    store.ingest([held, gone], segment="s", offset=1)
    tag = sealer.cipher.tag("198.51.100.1")
    assert held.client_ip == tag and "198.51.100.1" not in repr(held)
    with pytest.raises(ValueError):
        store.add_hold("not-an-address", OLD_MS - DAY_MS, NOW_MS, "case", now_ms=NOW_MS)
    store.add_hold(tag, OLD_MS - DAY_MS, OLD_MS + DAY_MS, "court order 18", now_ms=NOW_MS)
    assert [h.ip for h in store.holds()] == [tag]
    result = store.purge_before(NOW_MS - 90 * DAY_MS, now_ms=NOW_MS)
    assert (result.removed, result.kept_by_hold) == (1, 1)
    kept = list(store.records(0, 2**62, tag))
    assert kept == [held] and sealer.open_record(kept[0]) == record(OLD_MS, "/held", "198.51.100.1")
    store.close()


def test_ledger_retention_destroys_a_prefix_and_the_chain_continues_from_its_anchor(
    store_url: Callable[[str], str],
) -> None:
    """개인정보 보호법 제21조: destroyed events leave the hash the chain continues from, even when none are left."""
    store = open_ledger_store(store_url("ledger"), create=True)
    guardian = event("g")._replace(guardian_method="mobile-id", guardian_at_ms=NOW_MS - 5, policy_sha256="ab" * 32)
    first = store.append([event("a"), guardian], segment="s", offset=2)
    assert store.anchor() is None and store.history("g") == [first[1]]
    assert (store.history("g")[0].guardian_method, store.history("g")[0].guardian_at_ms) == ("mobile-id", NOW_MS - 5)
    assert store.purge_through(9, now_ms=NOW_MS) == 0
    assert store.purge_through(2, now_ms=NOW_MS) == 2
    assert list(store.rows()) == [] and store.anchor() == (2, first[1].hash)
    assert store.stats() == LedgerStats(0, 2, first[1].hash)
    later = store.append([event("b")], segment="s", offset=3)
    assert (later[0].seq, later[0].prev_hash) == (3, first[1].hash)
    assert verify(store.rows(), store.anchor()).ok and not verify(store.rows()).ok
    store.close()


def test_blocked_cookie_counters_add_up_apart_from_the_log(store_url: Callable[[str], str]) -> None:
    """개인정보 보호법 제21조③ (gap 2): what ``report`` counts lives in its own store, on either backend."""
    store = open_aggregates_store(store_url("aggregates"), create=True)
    store.add_blocked_cookies(
        {("response", "_ga", "/"): 2, ("request", "_fbp", "/"): 1}, now_ms=1, segment="a", offset=5
    )
    store.add_blocked_cookies({("response", "_ga", "/"): 4}, now_ms=2, segment="a", offset=9)
    assert store.blocked_cookies() == [("response", "_ga", "/", 6), ("request", "_fbp", "/", 1)]
    assert store.spool_offset("a") == 9
    store.forget_segment("a")
    assert store.spool_offset("a") == 0
    store.close()

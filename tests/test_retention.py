"""Retention: the calendar cutoff, the purge that really destroys, legal holds, and the disclosure export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from cookiegate import CookieGate
from cookiegate.clock import SEOUL, to_ms
from cookiegate.records.disclosure import export_disclosure
from cookiegate.records.retention import (
    purge,
    purge_cutoff,
    retention_cutoff,
    seconds_until_next_purge,
    validate_retention_months,
)
from cookiegate.records.types import AccessRecord
from cookiegate.stores import open_access_store
from cookiegate.stores.sqlite_access import SQLiteAccessStore
from tests.conftest import SECRET, tiny_app
from tests.store_support import access_record

NOW = datetime(2025, 5, 15, 10, 0, tzinfo=SEOUL)


def frozen() -> datetime:
    return NOW


def row(ts: datetime, path: str, ip: str = "203.0.113.5") -> AccessRecord:
    return access_record(ts, path, ip)


def on_disk(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


@pytest.mark.parametrize(
    ("today", "cutoff"),
    [
        ("2025-05-15", "2025-02-15"),
        ("2025-05-31", "2025-02-28"),
        ("2024-05-31", "2024-02-29"),
        ("2025-01-10", "2024-10-10"),
    ],
)
def test_cutoff_is_the_same_day_three_calendar_months_back_in_seoul(today: str, cutoff: str) -> None:
    now = datetime.fromisoformat(today).replace(hour=12, tzinfo=SEOUL)
    assert retention_cutoff(now, 3) == datetime.fromisoformat(cutoff).replace(tzinfo=SEOUL)


def test_the_seoul_calendar_decides_not_utc() -> None:
    # 2025-05-14 20:00 UTC is already 2025-05-15 in Seoul.
    assert retention_cutoff(datetime(2025, 5, 14, 20, tzinfo=UTC), 3).date().isoformat() == "2025-02-15"


def test_less_than_three_months_is_refused() -> None:
    with pytest.raises(ValueError, match="시행령 제41조"):
        validate_retention_months(2)
    with pytest.raises(ValueError, match="at least 3 months"):
        CookieGate(tiny_app(), secret_keys=[SECRET], retention_months=2)


def test_purge_destroys_old_records_down_to_the_bytes(tmp_path: Path) -> None:
    db = tmp_path / "access.db"
    store = SQLiteAccessStore(db, create=True)
    old = NOW - timedelta(days=1) - (NOW - purge_cutoff(NOW, 3))  # 3 months + the 7-day grace + 1 day old
    store.ingest([row(old, "/expired-unique-path-7f3a")] * 50, segment="s", offset=1)
    store.ingest([row(NOW - timedelta(days=30), "/recent-unique-path-91bc")], segment="s", offset=2)
    store.close()
    assert b"/expired-unique-path-7f3a" in on_disk(db)

    store = SQLiteAccessStore(db, create=True)
    result = purge(store, months=3, clock=frozen)
    assert (result.removed, result.kept_by_hold) == (50, 0)
    assert [r.path for r in store.records(0, 2**62)] == ["/recent-unique-path-91bc"]
    store.close()
    assert b"/expired-unique-path-7f3a" not in on_disk(db)
    assert b"/recent-unique-path-91bc" in on_disk(db)
    (audit,) = SQLiteAccessStore(db, create=True).audit_lines()
    assert audit["removed"] == 50 and b"expired" not in orjson.dumps(audit)


def test_a_record_on_the_cutoff_day_is_kept(store_url: Callable[[str], str]) -> None:
    store = open_access_store(store_url("access"), create=True)
    store.ingest([row(retention_cutoff(NOW, 3) + timedelta(minutes=1), "/edge")], segment="s", offset=1)
    assert purge(store, months=3, clock=frozen, grace_days=0).removed == 0
    assert store.count(0, 2**62) == 1
    store.close()


def test_decree41_purge_keeps_three_months_plus_the_grace_then_destroys(store_url: Callable[[str], str]) -> None:
    """통신비밀보호법 시행령 제41조②2 (at least 3 months) + a 7-day grace, then 개인정보 보호법 제21조 (gap 10)."""
    store = open_access_store(store_url("access"), create=True)
    period_end = retention_cutoff(NOW, 3)
    store.ingest([row(period_end - timedelta(days=3), "/in-grace"), row(period_end - timedelta(days=8), "/past")],
                 segment="s", offset=1)  # fmt: skip
    result = purge(store, months=3, clock=frozen)
    assert result.removed == 1 and result.cutoff_ms == to_ms(period_end - timedelta(days=7))
    assert [r.path for r in store.records(0, 2**62)] == ["/in-grace"]
    assert purge(store, months=3, clock=frozen, grace_days=0).removed == 1, "without a grace: gone at 3 months"
    with pytest.raises(ValueError, match="3-month minimum"):
        purge(store, months=3, clock=frozen, grace_days=-1)
    store.close()


def test_held_records_survive_until_released(store_url: Callable[[str], str], tmp_path: Path) -> None:
    url = store_url("access")
    store = open_access_store(url, create=True)
    old = datetime(2024, 12, 1, 9, tzinfo=SEOUL)
    store.ingest([row(old, "/held", "198.51.100.1"), row(old, "/gone", "198.51.100.2")], segment="s", offset=1)
    hold = store.add_hold(
        "198.51.100.0/31",
        to_ms(old - timedelta(days=1)),
        to_ms(old + timedelta(days=1)),
        "case 2025-고단-123",
        now_ms=to_ms(NOW),
    )
    store.add_hold(
        "198.51.100.1",
        to_ms(old - timedelta(days=1)),
        to_ms(old + timedelta(days=1)),
        "overlapping hold",
        now_ms=to_ms(NOW),
    )
    result = purge(store, months=3, clock=frozen)
    assert (result.removed, result.kept_by_hold) == (1, 1)
    assert [r.path for r in store.records(0, 2**62)] == ["/held"]
    assert purge(store, months=3, clock=frozen).removed == 0, "still held by the second hold"
    for h in store.holds():
        store.release_hold(h.id, now_ms=to_ms(NOW))
    assert not store.release_hold(hold, now_ms=to_ms(NOW))
    assert purge(store, months=3, clock=frozen).removed == 1
    store.close()
    if url.startswith("sqlite"):
        assert b"/held" not in on_disk(tmp_path / "access.db")


def test_export_needs_a_permit_and_is_recorded(store_url: Callable[[str], str], tmp_path: Path) -> None:
    store = open_access_store(store_url("access"), create=True)
    when = NOW - timedelta(days=3)
    store.ingest([row(when, "/a", "192.0.2.1"), row(when, "/b", "192.0.2.2")], segment="s", offset=1)
    start, end = to_ms(when - timedelta(hours=1)), to_ms(when + timedelta(hours=1))
    with pytest.raises(ValueError, match="permit"):
        export_disclosure(
            store, from_ms=start, to_ms_=end, ip=None, agency="Seoul police", permit=" ", out=tmp_path / "x.jsonl"
        )
    assert store.disclosures() == [] and not (tmp_path / "x.jsonl").exists()

    out = tmp_path / "out.csv"
    progress = io.StringIO()
    disclosure = export_disclosure(
        store,
        from_ms=start,
        to_ms_=end,
        ip="192.0.2.1",
        agency="Seoul police",
        permit="2025-123",
        out=out,
        clock=frozen,
        progress=progress,
    )
    lines = list(csv.reader(io.StringIO(out.read_text())))
    assert len(lines) == 2 and "/a" in lines[1] and disclosure.records == 1
    (entry,) = store.disclosures()
    assert (entry.agency, entry.permit, entry.ip, entry.records) == ("Seoul police", "2025-123", "192.0.2.1", 1)
    store.close()


def test_the_daily_purge_runs_at_four_in_the_morning_seoul_time() -> None:
    assert seconds_until_next_purge(datetime(2025, 5, 15, 3, 0, tzinfo=SEOUL)) == 3600
    assert seconds_until_next_purge(datetime(2025, 5, 15, 4, 0, tzinfo=SEOUL)) == 86_400


def test_export_refuses_to_overwrite_an_earlier_disclosure_file(tmp_path: Path) -> None:
    store = SQLiteAccessStore(tmp_path / "access.db", create=True)
    out = tmp_path / "earlier.jsonl"
    out.write_text("evidence already handed over\n")
    with pytest.raises(ValueError, match="--force"):
        export_disclosure(store, from_ms=0, to_ms_=1, ip=None, agency="a", permit="p", out=out)
    assert out.read_text() == "evidence already handed over\n"

"""The PostgreSQL access log on a real server: day partitions, purge by DROP, role separation, restarts."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from cookiegate.records.types import AccessRecord
from cookiegate.stores.postgres_access import PostgresAccessStore
from cookiegate.stores.postgres_schema import DAYS_AHEAD
from cookiegate.stores.protocols import StoreMissingError, StoreUnavailableError

DAY_MS = 86_400_000
NOW_MS = time.time_ns() // 1_000_000


def record(ts_ms: int, path: str = "/", ip: str = "203.0.113.5") -> AccessRecord:
    return AccessRecord(ts_ms, ip, 50_000, "10.0.0.2", None, "shop.test", "GET", path, 200, "HTTP/1.1", 512, 900, "ok")


def seoul_midnight_before(ms: int) -> int:
    """Seoul is UTC+9 without daylight saving since 1988."""
    return (ms + 9 * 3_600_000) // DAY_MS * DAY_MS - 9 * 3_600_000


def partitions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'cookiegate_access.access_log'::regclass ORDER BY 1"
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_a_database_never_migrated_is_an_error_naming_it_without_the_password(postgres_url: str) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:s3cret@")
    with pytest.raises(StoreMissingError, match="cookiegate_access missing") as error:
        PostgresAccessStore(with_password)
    assert "s3cret" not in str(error.value) and "***" in str(error.value)
    assert partitions_or_none(postgres_url) is None, "opening must not create the store"


def partitions_or_none(url: str) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('cookiegate_access.access_log')").fetchone()
    return None if row is None else row[0]


def test_every_seoul_day_is_a_partition_created_a_week_ahead(postgres_url: str) -> None:
    store = PostgresAccessStore(postgres_url, create=True)
    names = partitions(postgres_url)
    assert len(names) >= DAYS_AHEAD + 1
    today = time.strftime("%Y%m%d", time.gmtime((NOW_MS + 9 * 3_600_000) / 1000))
    assert f"access_{today}" in names
    store.ingest([record(NOW_MS + 40 * DAY_MS)], segment="s", offset=1)  # a clock far ahead: its day appears
    assert len(partitions(postgres_url)) > len(names)
    store.close()


def test_a_batch_retried_after_it_committed_is_stored_once(postgres_url: str) -> None:
    store = PostgresAccessStore(postgres_url, create=True)
    batch = [record(NOW_MS - i) for i in range(100)]
    store.ingest(batch, segment="seg-1", offset=4096)
    store.ingest(batch, segment="seg-1", offset=4096)  # the ack was lost: the ingester sends it again
    assert store.count(0, 2**62) == 100 and store.spool_offset("seg-1") == 4096
    store.close()


def test_a_server_restart_loses_and_doubles_nothing(pg_cluster: Any, postgres_url: str) -> None:
    store = PostgresAccessStore(postgres_url, create=True)
    store.ingest([record(NOW_MS - i) for i in range(50)], segment="s", offset=1)
    pg_cluster.restart("fast")
    second = [record(NOW_MS - 1000 - i) for i in range(50)]
    with pytest.raises(StoreUnavailableError, match="unavailable"):
        store.ingest(second, segment="s", offset=2)
    store.ingest(second, segment="s", offset=2)  # the ingester retries: the store reconnects
    store.ingest(second, segment="s", offset=2)
    assert store.count(0, 2**62) == 100
    store.close()


def test_purge_drops_whole_days_and_keeps_what_a_hold_covers(postgres_url: str) -> None:
    store = PostgresAccessStore(postgres_url, create=True)
    old_day = seoul_midnight_before(NOW_MS) - 100 * DAY_MS
    store.ingest(
        [
            record(old_day + 1000, "/held", "198.51.100.1"),
            record(old_day + 2000, "/gone", "198.51.100.2"),
            record(NOW_MS - 5, "/recent"),
        ],
        segment="s",
        offset=1,
    )
    hold = store.add_hold("198.51.100.0/31", old_day, old_day + DAY_MS, "2025-고합-17", now_ms=NOW_MS)
    store.add_hold("198.51.100.1", old_day, old_day + DAY_MS, "second request", now_ms=NOW_MS)
    result = store.purge_before(old_day + DAY_MS, now_ms=NOW_MS)
    assert (result.removed, result.kept_by_hold, result.partitions_dropped) == (1, 1, 1)
    assert f"access_{time.strftime('%Y%m%d', time.gmtime((old_day + 9 * 3_600_000) / 1000))}" not in partitions(
        postgres_url
    )
    assert sorted(r.path for r in store.records(0, 2**62)) == ["/held", "/recent"]
    assert [r.path for r in store.records(0, 2**62, "198.51.100.0/24")] == ["/held"]
    assert store.purge_before(old_day + DAY_MS, now_ms=NOW_MS).removed == 0, "still held by the second hold"
    for h in store.holds():
        assert store.release_hold(h.id, now_ms=NOW_MS)
    assert not store.release_hold(hold, now_ms=NOW_MS)
    assert store.purge_before(old_day + DAY_MS, now_ms=NOW_MS).removed == 1
    assert [r.path for r in store.records(0, 2**62)] == ["/recent"]
    assert [line["removed"] for line in store.audit_lines()] == [1, 0, 1]
    stats = store.stats()
    assert stats.records == 1 and stats.oldest_ms == stats.newest_ms == NOW_MS - 5
    store.close()


def test_the_ingest_role_may_only_append_and_reading_needs_the_disclosure_role(
    pg_cluster: Any, postgres_url: str
) -> None:
    """안전성 확보조치 기준 제5조 (gap 3): the gate's role may only append; reading needs the disclosure role."""
    owner = PostgresAccessStore(postgres_url, create=True)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(owner.roles_sql())
        conn.execute(owner.roles_sql())  # idempotent
    database = postgres_url.rsplit("/", 1)[1]
    ingest_url = pg_cluster.url(database, user="cookiegate_ingest")
    reader_url = pg_cluster.url(database, user="cookiegate_disclosure")

    ingest = PostgresAccessStore(ingest_url, create=True)  # as the gate's own ingester opens it: no DDL needed
    ingest.ingest([record(NOW_MS), record(NOW_MS + 30 * DAY_MS)], segment="s", offset=1)  # new day: ensure_days
    assert ingest.spool_offset("s") == 1
    with psycopg.connect(ingest_url, autocommit=True) as conn:
        for statement in (
            "SELECT * FROM cookiegate_access.access_log",
            "DELETE FROM cookiegate_access.access_log",
            "UPDATE cookiegate_access.access_log SET path = '/x'",
            "TRUNCATE cookiegate_access.access_log",
            "DROP TABLE cookiegate_access.access_log",
            "SELECT * FROM cookiegate_access.legal_holds",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)

    reader = PostgresAccessStore(reader_url)
    assert reader.count(0, 2**62) == 2 and len(list(reader.records(0, 2**62))) == 2
    with psycopg.connect(reader_url, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM cookiegate_access.access_log")
    for store in (ingest, reader, owner):
        store.close()


def test_the_ingest_role_runs_retention_but_never_under_three_months(pg_cluster: Any, postgres_url: str) -> None:
    """The gate's ingester purges with the ingest role; the server refuses to destroy what 시행령 제41조 keeps."""
    owner = PostgresAccessStore(postgres_url, create=True)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(owner.roles_sql())
    ingest = PostgresAccessStore(pg_cluster.url(postgres_url.rsplit("/", 1)[1], user="cookiegate_ingest"))
    old_day = seoul_midnight_before(NOW_MS) - 100 * DAY_MS
    ingest.ingest([record(old_day + 5, "/old"), record(NOW_MS - 40 * DAY_MS, "/young")], segment="s", offset=1)
    with pytest.raises(ValueError, match="3 months"):
        ingest.purge_before(seoul_midnight_before(NOW_MS) - 40 * DAY_MS, now_ms=NOW_MS)
    result = ingest.purge_before(old_day + DAY_MS, now_ms=NOW_MS)
    assert (result.removed, result.partitions_dropped) == (1, 1)
    assert [r.path for r in owner.records(0, 2**62)] == ["/young"]
    ingest.close()
    owner.close()


def test_a_path_postgresql_text_cannot_hold_is_stored_escaped_not_stalling_the_log(postgres_url: str) -> None:
    store = PostgresAccessStore(postgres_url, create=True)
    store.ingest(
        [record(NOW_MS, "/a\x00b"), record(NOW_MS + 1, "/\udcff"), record(NOW_MS + 2, "/ok")], segment="s", offset=1
    )
    store.ingest([record(NOW_MS + 3, "/next")], segment="s", offset=2)
    assert [r.path for r in store.records(0, 2**62)] == ["/a\\x00b", "/\\udcff", "/ok", "/next"]
    store.close()


def test_ingesters_on_several_hosts_meeting_a_new_day_at_once_store_everything(postgres_url: str) -> None:
    """Four stores (four machines' ingesters) write batches that cross into days nobody created yet."""
    PostgresAccessStore(postgres_url, create=True).close()
    first_new_day = seoul_midnight_before(NOW_MS) + 20 * DAY_MS
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def ingest_many(host: int) -> None:
        store = PostgresAccessStore(postgres_url)
        try:
            start.wait()
            for n in range(10):
                base = first_new_day + n * DAY_MS - 500
                batch = [record(base + i, f"/h{host}/{n}/{i}") for i in range(100)]  # straddles midnight
                store.ingest(batch, segment=f"host{host}", offset=n + 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=ingest_many, args=(h,)) for h in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = PostgresAccessStore(postgres_url)
    assert store.count(0, 2**62) == 4 * 10 * 100 == store.stats().records, "tallies agree with the rows"
    assert len({r.path for r in store.records(0, 2**62)}) == 4000
    store.close()

"""The PostgreSQL consent ledger on a real server: one chain under concurrent appenders, append-only roles."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from cookiegate.records.chain import verify
from cookiegate.records.types import LedgerEvent
from cookiegate.stores.postgres_ledger import PostgresLedgerStore
from cookiegate.stores.protocols import StoreMissingError, StoreUnavailableError


def event(consent_id: str, at_ms: int = 1_747_000_000_000) -> LedgerEvent:
    return LedgerEvent(at_ms, consent_id, "2025-05", "ko", "necessary,analytics", "banner", 0, 0, 0, "203.0.113.0/24")


def test_a_database_never_migrated_is_an_error_naming_it(postgres_url: str) -> None:
    with pytest.raises(StoreMissingError, match="cookiegate_ledger missing"):
        PostgresLedgerStore(postgres_url)


def test_ingesters_appending_at_once_keep_one_unbroken_chain(postgres_url: str) -> None:
    """Six appenders, each with its own connection (as six ingest processes would have): no fork, no gap."""
    PostgresLedgerStore(postgres_url, create=True).close()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def append_many(worker: int) -> None:
        store = PostgresLedgerStore(postgres_url)
        try:
            start.wait()
            for n in range(25):
                store.append(
                    [event(f"w{worker}-{n}-{k}") for k in range(1 + n % 3)], segment=f"w{worker}", offset=n + 1
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=append_many, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = PostgresLedgerStore(postgres_url)
    events = list(store.rows())
    expected = 6 * sum(1 + n % 3 for n in range(25))
    check = verify(events)
    assert check.ok, check.reason
    assert check.checked == expected == store.stats().events and [e.seq for e in events] == list(range(1, expected + 1))
    assert len({e.consent_id for e in events}) == expected, "no event stored twice"
    store.close()


def test_a_batch_retried_after_a_restart_is_appended_once(pg_cluster: Any, postgres_url: str) -> None:
    store = PostgresLedgerStore(postgres_url, create=True)
    assert [e.seq for e in store.append([event("a"), event("b")], segment="s", offset=10)] == [1, 2]
    assert store.append([event("a"), event("b")], segment="s", offset=10) == [], "already appended"
    pg_cluster.restart("fast")
    with pytest.raises(StoreUnavailableError):
        store.append([event("c")], segment="s", offset=20)
    assert [e.seq for e in store.append([event("c")], segment="s", offset=20)] == [3]
    assert [e.consent_id for e in store.history("c")] == ["c"] and verify(store.rows()).ok
    store.close()


def test_the_ingest_role_appends_and_reads_but_cannot_rewrite_history(pg_cluster: Any, postgres_url: str) -> None:
    owner = PostgresLedgerStore(postgres_url, create=True)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(owner.roles_sql())
    ingest_url = pg_cluster.url(postgres_url.rsplit("/", 1)[1], user="cookiegate_ingest")
    ingest = PostgresLedgerStore(ingest_url, create=True)
    ingest.append([event("v1"), event("v2")], segment="s", offset=1)
    assert [e.consent_id for e in ingest.history("v1")] == ["v1"]
    with psycopg.connect(ingest_url, autocommit=True) as conn:
        for statement in (
            "UPDATE cookiegate_ledger.consent_events SET granted = 'necessary'",
            "DELETE FROM cookiegate_ledger.consent_events",
            "TRUNCATE cookiegate_ledger.consent_events",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert verify(owner.rows()).ok and owner.stats().head_seq == 2
    ingest.close()
    owner.close()


def test_a_schema_1_ledger_is_refused_until_migrated_and_its_chain_still_verifies(postgres_url: str) -> None:
    """Schema 3 adds the guardian (개인정보 보호법 제22조의2) and policy SHA-256 columns and the retention anchor."""
    store = PostgresLedgerStore(postgres_url, create=True)
    old = store.append([event("a"), event("b")], segment="s", offset=2)
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # what a cookiegate before issue #10 left
        conn.execute("ALTER TABLE cookiegate_ledger.consent_events DROP COLUMN guardian_method, "
                     "DROP COLUMN guardian_at_ms, DROP COLUMN policy_sha256")  # fmt: skip
        conn.execute("DROP TABLE cookiegate_ledger.chain_anchor")
        conn.execute("UPDATE cookiegate_ledger.meta SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(StoreUnavailableError, match="cookiegate migrate"):
        PostgresLedgerStore(postgres_url)
    store = PostgresLedgerStore(postgres_url, create=True)
    new = store.append([event("c")._replace(guardian_method="card", guardian_at_ms=5)], segment="s", offset=3)
    assert list(store.rows()) == [*old, *new] and verify(store.rows()).ok
    assert (store.history("c")[0].guardian_method, store.history("c")[0].guardian_at_ms) == ("card", 5)
    store.close()
    PostgresLedgerStore(postgres_url).close()  # the owner's upgrade opens for everyone again

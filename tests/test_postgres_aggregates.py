"""The report counters in PostgreSQL on a real server: batches counted once, the ingest role only adds, the
disclosure role reports."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from cookiegate.stores.postgres_aggregates import PostgresAggregatesStore
from cookiegate.stores.protocols import StoreMissingError


def test_counts_add_up_once_per_spool_offset_under_the_ingest_role(pg_cluster: Any, postgres_url: str) -> None:
    with pytest.raises(StoreMissingError, match="cookiegate_aggregates missing"):
        PostgresAggregatesStore(postgres_url)
    owner = PostgresAggregatesStore(postgres_url, create=True)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(owner.roles_sql())
    ingest = PostgresAggregatesStore(pg_cluster.url(postgres_url.rsplit("/", 1)[1], user="cookiegate_ingest"))
    counts = {("response", "_ga", "/"): 3, ("request", "_fbp", "/shop"): 1}
    ingest.add_blocked_cookies(counts, now_ms=1, segment="s", offset=10)
    ingest.add_blocked_cookies(counts, now_ms=2, segment="s", offset=10)  # a retried batch: not counted twice
    ingest.add_blocked_cookies({("response", "_ga", "/"): 2}, now_ms=3, segment="s", offset=20)
    assert owner.blocked_cookies() == [("response", "_ga", "/", 5), ("request", "_fbp", "/shop", 1)]
    assert ingest.spool_offset("s") == 20
    with psycopg.connect(ingest.url, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM cookiegate_aggregates.blocked_cookies")
    reporter = PostgresAggregatesStore(pg_cluster.url(postgres_url.rsplit("/", 1)[1], user="cookiegate_disclosure"))
    assert reporter.blocked_cookies() == owner.blocked_cookies()  # `report` runs as the disclosure role
    reporter.close()
    ingest.close()
    owner.close()

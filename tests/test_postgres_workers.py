"""Three uvicorn workers on one PostgreSQL, the server restarted mid-load: every answered request stored once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from cookiegate.records.chain import verify
from cookiegate.stores.postgres_access import PostgresAccessStore
from cookiegate.stores.postgres_ledger import PostgresLedgerStore
from tests.store_support import serve, wait_for

REQUESTS = 1200
CONSENTS = 60
RESTART_AFTER = 400


async def load(base: str, restart: threading.Event) -> tuple[set[str], int]:
    answered: set[str] = set()
    consents = 0
    pages = iter(range(REQUESTS))
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:

        async def browse() -> None:
            for n in pages:
                response = await client.get(f"/r/{n}")
                assert response.status_code == 200 and response.text == f"ok {n}"
                answered.add(f"/r/{n}")
                if len(answered) == RESTART_AFTER:
                    restart.set()

        async def consent() -> None:
            nonlocal consents
            for _ in range(CONSENTS):
                response = await client.post("/_cookiegate/consent", json={"granted": ["analytics"]})
                assert response.status_code == 200, response.text
                consents += 1
                await asyncio.sleep(0.02)

        await asyncio.gather(consent(), *(browse() for _ in range(12)))
    return answered, consents


def stored_paths(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT path FROM cookiegate_access.access_log WHERE path LIKE '/r/%'").fetchall()
    return [str(r[0]) for r in rows]


@pytest.mark.slow
def test_three_workers_survive_a_postgresql_restart_without_losing_or_doubling(
    pg_cluster: Any, postgres_url: str, tmp_path: Path
) -> None:
    PostgresAccessStore(postgres_url, create=True).close()
    PostgresLedgerStore(postgres_url, create=True).close()
    env = {"COOKIEGATE_ACCESS_URL": postgres_url, "COOKIEGATE_LEDGER_URL": postgres_url}
    restart = threading.Event()

    def restart_when_asked() -> None:
        if restart.wait(120):
            pg_cluster.restart("fast")

    restarter = threading.Thread(target=restart_when_asked)
    restarter.start()
    try:
        with serve(tmp_path, tmp_path / "data", env, workers=3) as (_, base):
            answered, consents = asyncio.run(load(base, restart))
            restarter.join()
            assert len(answered) == REQUESTS and consents == CONSENTS
            # The ingester backs off while the server is down, then catches up.
            wait_for(lambda: len(stored_paths(postgres_url)) >= REQUESTS + 1, timeout=90, what="every record")
    finally:
        restart.set()
        restarter.join()

    answered.add("/r/warmup")  # serve() waits for one answered request before the load
    paths = stored_paths(postgres_url)
    assert len(paths) == len(set(paths)), "a record was stored twice"
    assert set(paths) == answered, f"{len(answered - set(paths))} answered requests have no record"
    ledger = PostgresLedgerStore(postgres_url)
    check = verify(ledger.rows())
    assert check.ok, check.reason
    assert check.checked == CONSENTS
    ledger.close()

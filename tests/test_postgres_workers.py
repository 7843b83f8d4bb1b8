"""Three uvicorn workers on one PostgreSQL, the server restarted mid-load: every answered request stored once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from cookiegate.records.chain import verify
from cookiegate.stores.postgres_access import PostgresAccessStore
from cookiegate.stores.postgres_ledger import PostgresLedgerStore
from tests.pg_support import free_port

APP = textwrap.dedent(
    """
    import os
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from cookiegate import CookieGate

    async def hello(request):
        return PlainTextResponse("ok " + request.path_params["n"])

    app = CookieGate(
        Starlette(routes=[Route("/r/{n}", hello)]),
        secret_keys=["pg-workers-secret-0123456789"],
        data_dir=os.environ["COOKIEGATE_DATA"],
        access_log_url=os.environ["COOKIEGATE_PG"],
        ledger_url=os.environ["COOKIEGATE_PG"],
    )
    """
)
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
    (tmp_path / "pgapp.py").write_text(APP)
    port = free_port()
    env = {**os.environ, "COOKIEGATE_DATA": str(tmp_path / "data"), "COOKIEGATE_PG": postgres_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pgapp:app", "--port", str(port), "--workers", "3", "--lifespan", "on",
         "--log-level", "warning", "--no-access-log"],
        cwd=tmp_path, env=env,
    )  # fmt: skip
    restart = threading.Event()

    def restart_when_asked() -> None:
        if restart.wait(120):
            pg_cluster.restart("fast")

    restarter = threading.Thread(target=restart_when_asked)
    restarter.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_cookiegate/policy.json", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        answered, consents = asyncio.run(load(f"http://127.0.0.1:{port}", restart))
        restarter.join()
        assert len(answered) == REQUESTS and consents == CONSENTS

        deadline = time.monotonic() + 90  # the ingester backs off while the server is down, then catches up
        while len(stored_paths(postgres_url)) < REQUESTS and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        restart.set()
        restarter.join()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    paths = stored_paths(postgres_url)
    assert len(paths) == len(set(paths)), "a record was stored twice"
    assert set(paths) == answered, f"{len(answered - set(paths))} answered requests have no record"
    ledger = PostgresLedgerStore(postgres_url)
    check = verify(ledger.rows())
    assert check.ok, check.reason
    assert check.checked == CONSENTS
    ledger.close()

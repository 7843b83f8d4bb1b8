"""Helpers for the back-office tests: building records, draining a data dir's spool, waiting for a condition."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.cli import main
from cookiegate.clock import to_ms
from cookiegate.keyfile import KEY_FILE_ENV, generate
from cookiegate.records.ingest import IngestConfig, Ingester
from cookiegate.records.ingest_lock import take_lock
from cookiegate.records.types import AccessRecord
from cookiegate.stores import default_urls
from cookiegate.stores.sqlite_access import SQLiteAccessStore
from tests.conftest import SECRET, tiny_app

#: A visitor behind a trusted proxy: client and forwarding chain apart from the TCP peer, the client's port unknown.
PROXIED_RECORD = AccessRecord(1_760_000_000_000, "198.51.100.7", None, "10.0.0.2", "198.51.100.7", "shop.example",
                              "GET", "/cart", 200, "HTTP/1.1", 512, 1200, "ok")  # fmt: skip


def access_record(ts: datetime | int, path: str, ip: str = "203.0.113.5", *, outcome: str = "ok") -> AccessRecord:
    ts_ms = ts if isinstance(ts, int) else to_ms(ts)
    return AccessRecord(ts_ms, ip, 50000, ip, None, "shop.test", "GET", path, 200, "HTTP/1.1", 10, 100, outcome)


def config(data_dir: Path, *, create: bool = True) -> IngestConfig:
    access, ledger, aggregates = default_urls(data_dir)
    return IngestConfig(data_dir, access, ledger, aggregates, 3, create=create)


def drain(data_dir: Path) -> int:
    """Store what ``data_dir``'s spool holds, as the ingest process would (in this process)."""
    lock = take_lock(data_dir)
    assert lock is not None, "an ingest process holds this data dir: wait for it instead"
    ingester = Ingester(config(data_dir))
    try:
        return ingester.drain()
    finally:
        ingester.close()
        os.close(lock)


def stored_paths(data_dir: Path) -> list[str]:
    store = SQLiteAccessStore(data_dir / "access.db")
    try:
        return [r.path for r in store.records(0, 2**62)]
    finally:
        store.close()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def count_rows(db: Path) -> int:
    """Access records in ``db`` read without taking any lock (the ingester may be writing)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM partitions")]
        return sum(int(conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0]) for n in names)
    except sqlite3.OperationalError:
        return 0  # not migrated yet
    finally:
        conn.close()


def count_events(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("SELECT count(*) FROM consent_events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


@contextmanager
def sealed_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: tuple[str, int]) -> Iterator[TestClient]:
    """A visitor at ``client`` on the gate over ``tmp_path/"data"``, with keys configured outside the data dir
    (제29조); what the visit spooled is stored when the block ends."""
    keys = tmp_path / "etc" / "keys.json"
    generate(keys)
    monkeypatch.setenv(KEY_FILE_ENV, str(keys))
    data = tmp_path / "data"
    with TestClient(CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data), base_url="http://shop.test",
                    client=client) as browser:  # fmt: skip
        yield browser
    assert main(["ingest", "--data-dir", str(data), "--once", "--create"]) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


APP = """
import os
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from cookiegate import CookieGate

async def hello(request):
    return PlainTextResponse("ok " + request.path_params["n"])

app = CookieGate(
    Starlette(routes=[Route("/r/{n}", hello)]),
    secret_keys=["server-test-secret-0123456789"],
    data_dir=os.environ["COOKIEGATE_DATA"],
    access_log_url=os.environ.get("COOKIEGATE_ACCESS_URL"),
    ledger_url=os.environ.get("COOKIEGATE_LEDGER_URL"),
)
"""


@contextmanager
def serve(
    tmp_path: Path, data: Path, env: dict[str, str] | None = None, *, workers: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real uvicorn serving ``APP`` with the gate around it (lifespan on: it starts its ingest process)."""
    (tmp_path / "gateapp.py").write_text(APP)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateapp:app", "--port", str(port), "--lifespan", "on",
         "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
        cwd=tmp_path, env={**os.environ, "COOKIEGATE_DATA": str(data), **(env or {})},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/r/warmup", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield server, base
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

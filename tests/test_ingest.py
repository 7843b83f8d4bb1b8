"""The ingest process against real faults: killed mid-batch, a store locked 6 s, store files turned read-only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cookiegate.consent import no_consent
from cookiegate.records.accesslog import AccessLog
from cookiegate.records.channels import spool_root
from cookiegate.records.ingest import Ingester
from cookiegate.records.ingest_lock import lock_is_free
from cookiegate.records.status import read_status
from cookiegate.records.supervisor import INGEST_NICENESS
from tests.store_support import config, count_events, count_rows, serve, stored_paths, wait_for

CONSENT = {"granted": ["analytics"], "under14": False, "method": "banner"}


def spool_requests(data: Path, count: int) -> None:
    sink = AccessLog(spool_root(data) / "access")
    consent = no_consent("v1")
    for i in range(count):
        scope = {"type": "http", "method": "GET", "path": f"/k/{i}", "headers": [], "client": ("192.0.2.1", i)}
        sink.log(scope, 200, 1, time.perf_counter_ns(), consent, b"", None, None, "ok")
    sink.close()
    assert sink.dropped == 0


def ingest(data: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "cookiegate", "ingest", "--data-dir", str(data), "--create", *extra]
    return subprocess.Popen(command, stderr=subprocess.DEVNULL)


def test_an_ingester_killed_mid_batch_loses_and_doubles_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    total = 60_000
    spool_requests(data, total)
    process = ingest(data)
    try:
        wait_for(lambda: count_rows(data / "access.db") > 0, what="a first committed chunk")
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        process.kill()
    partial = count_rows(data / "access.db")
    assert 0 < partial < total, "the kill landed mid-ingest"
    assert subprocess.run([sys.executable, "-m", "cookiegate", "ingest", "--data-dir", str(data), "--once"],
                          capture_output=True, check=False, timeout=120).returncode == 0  # fmt: skip
    paths = stored_paths(data)
    assert len(paths) == total and len(set(paths)) == total
    assert list((spool_root(data) / "access").glob("*.spool")) == []


def hold_exclusive(*databases: Path, seconds: float) -> subprocess.Popen[bytes]:
    """Another process (as a backup or an operator's ``sqlite3`` shell would) holding the write lock."""
    script = (
        "import sqlite3, sys, time\n"
        "conns = [sqlite3.connect(p, isolation_level=None) for p in sys.argv[2:]]\n"
        "for c in conns: c.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[1]))\n"
        "for c in conns: c.execute('ROLLBACK')\n"
    )
    command = [sys.executable, "-c", script, str(seconds), *map(str, databases)]
    locker = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
    locker.stdout.close()
    return locker


@pytest.mark.slow
def test_a_store_locked_for_six_seconds_stalls_no_request_and_loses_no_consent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(tmp_path, data) as (_, base), httpx.Client(base_url=base, timeout=10) as client:
        assert client.post("/_cookiegate/consent", json=CONSENT).status_code == 200
        wait_for(lambda: count_events(data / "ledger.db") == 1, what="the first consent event stored")
        wait_for((data / "access.db").exists, what="the access log created")
        locker = hold_exclusive(data / "access.db", data / "ledger.db", seconds=6)
        started = time.monotonic()
        latencies: list[float] = []
        consent_seconds = None
        while time.monotonic() - started < 5:
            sent = time.monotonic()
            assert client.get(f"/r/{len(latencies)}").status_code == 200
            latencies.append(time.monotonic() - sent)
            if consent_seconds is None and len(latencies) == 20:
                sent = time.monotonic()
                answer = client.post("/_cookiegate/consent", json={**CONSENT, "granted": []})
                consent_seconds = time.monotonic() - sent
                assert answer.status_code == 200
            time.sleep(0.02)
        assert locker.poll() is None, "the lock was held throughout"
        assert max(latencies) < 0.5, f"slowest request {max(latencies):.3f}s while the store was locked"
        assert consent_seconds is not None and consent_seconds < 1.0
        assert count_events(data / "ledger.db") == 1, "the second event waits for the lock"
        locker.wait(10)
        wait_for(lambda: count_events(data / "ledger.db") == 2, what="the consent event stored after the lock")
        requests = len(latencies) + 3  # the warm-up and two consent posts
        wait_for(lambda: count_rows(data / "access.db") == requests, what="every request stored")


def set_immutable(paths: list[Path], on: bool) -> None:
    """``chattr +i``: not even root (or an already open descriptor, or a mapping) may write the files."""
    existing = [str(p) for p in paths if p.exists()]
    subprocess.run(["chattr", "+i" if on else "-i", *existing], check=True)


@pytest.mark.slow
def test_store_files_made_unwritable_at_runtime_keep_the_site_serving_and_lose_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("making files immutable needs root (chattr), and CI must run this test")
        pytest.skip("chattr +i needs root")
    data = tmp_path / "data"
    with serve(tmp_path, data) as (_, base), httpx.Client(base_url=base, timeout=10) as client:
        assert client.post("/_cookiegate/consent", json=CONSENT).status_code == 200
        wait_for(lambda: count_events(data / "ledger.db") == 1, what="the first consent stored")
        wait_for(lambda: count_rows(data / "access.db") == 2, what="the first requests stored")
        stores = [data / f"{name}.db{suffix}" for name in ("access", "ledger") for suffix in ("", "-wal", "-shm")]
        set_immutable(stores, True)
        try:
            for i in range(50):
                assert client.get(f"/r/{i}").status_code == 200
            assert client.post("/_cookiegate/consent", json=CONSENT).status_code == 200
            wait_for(lambda: (read_status(data) or {}).get("state") == "failing", what="the ingester to notice")
            assert client.get("/r/still-serving").status_code == 200
        finally:
            set_immutable(stores, False)
        wait_for(lambda: count_rows(data / "access.db") == 54, timeout=60, what="every request stored once fixed")
        wait_for(lambda: count_events(data / "ledger.db") == 2, what="the consent event stored once fixed")


@pytest.mark.slow
def test_the_server_killed_leaves_its_ingester_to_stop_and_the_spool_to_the_next_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(tmp_path, data) as (server, base):
        for i in range(30):
            httpx.get(f"{base}/r/{i}")
        server.send_signal(signal.SIGKILL)
        server.wait()
    wait_for(lambda: lock_is_free(data), what="the orphaned ingester to stop")
    assert subprocess.run([sys.executable, "-m", "cookiegate", "ingest", "--data-dir", str(data), "--once"],
                          capture_output=True, check=False, timeout=120).returncode == 0  # fmt: skip
    paths = stored_paths(data)
    assert sorted(p for p in paths if p.startswith("/r/") and p != "/r/warmup") == sorted(f"/r/{i}" for i in range(30))


def test_the_gates_own_ingester_yields_the_core_to_the_server(tmp_path: Path) -> None:
    """Its batches would otherwise queue the requests that arrive meanwhile on a shared core (a logged site's p99)."""
    data = tmp_path / "data"
    with serve(tmp_path, data) as (server, _):
        wait_for(lambda: (read_status(data) or {}).get("state") == "ok", what="the ingester to start")
        ingester = int((read_status(data) or {})["pid"])  # type: ignore[call-overload]
        niceness = os.getpriority(os.PRIO_PROCESS, ingester)
        server_niceness = os.getpriority(os.PRIO_PROCESS, server.pid)

    assert niceness == min(19, server_niceness + INGEST_NICENESS)


def test_a_quiet_site_is_ingested_in_batches_a_few_seconds_apart_and_a_busy_one_every_interval(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    sink = AccessLog(spool_root(data) / "access")
    consent = no_consent("v1")

    def serve_requests(count: int) -> None:
        for i in range(count):
            scope = {"type": "http", "method": "GET", "path": f"/q/{i}", "headers": [], "client": ("192.0.2.1", i)}
            sink.log(scope, 200, 1, time.perf_counter_ns(), consent, b"", None, None, "ok")

    ingester = Ingester(config(data))
    try:
        serve_requests(10)
        assert ingester.drain(idle_shortcuts=True) == 10  # a new segment is read at once
        # Quiet: no pass until the waiting batch is due (each idle pass is CPU the site pays for nothing).
        assert 1.0 < ingester.next_wait() <= 5.0
        serve_requests(5)
        assert ingester.drain(idle_shortcuts=True) == 0, "a few records wait for their batch"
        serve_requests(1000)  # more than a batch's bytes since the last pass: a busy site
        assert ingester.drain(idle_shortcuts=True) == 1005
        assert ingester.next_wait() == ingester.config.interval
    finally:
        sink.close()
        ingester.close()
    assert count_rows(data / "access.db") == 1015

"""The blocked-cookie flusher: counts leave the gate process through their spool within seconds, not minutes."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from cookiegate.leaks import LeakCounter
from cookiegate.records.aggregates import FLUSH_INTERVAL_SECONDS, BlockedCookieFlusher
from cookiegate.records.spool import parse_frames, segments


def spooled(directory: Path) -> list[dict[str, object]]:
    frames = [parse_frames(path.read_bytes(), sealed=False)[0] for path in segments(directory)]
    return [orjson.loads(payload) for payloads in frames for payload in payloads]


def test_pending_counts_leave_the_gate_process_within_seconds(tmp_path: Path) -> None:
    # ``cookiegate report`` lags by at most one interval; what waits meanwhile is bounded (test_leaks.py).
    assert FLUSH_INTERVAL_SECONDS <= 10.0
    leaks = LeakCounter()
    flusher = BlockedCookieFlusher(leaks, tmp_path / "aggregates", interval=0.05)
    flusher.start()
    try:
        leaks.count_all("request", ("_fbp",), "/order/12345")
        deadline = time.monotonic() + 10
        while not spooled(tmp_path / "aggregates") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert spooled(tmp_path / "aggregates")[0]["blocked"] == [["request", "_fbp", "/order/:id", 1]]
        assert leaks.snapshot() == {}  # nothing left waiting in the gate process
    finally:
        flusher.stop()

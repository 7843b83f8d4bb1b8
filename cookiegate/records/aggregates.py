"""Blocked-cookie counters leave the gate process through their own spool, every 10 s and at stop.

They are for ``cookiegate report`` (which page leaks which cookie), not statutory data, so they go to the
aggregates store, never into the access log (issue #10 item 2).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Final

import orjson

from cookiegate.leaks import LeakCounter
from cookiegate.records.spool import SpoolWriter

_KEYS_PER_FRAME: Final = 1000


#: Seconds between drains: how far ``cookiegate report`` may lag. What waits in ``leaks`` until then is one
#: count per distinct (blocked names, path), bounded (when it was a note per request, 30 s of the soak's
#: 500 req/s swung the heap by ~1.3 MB every period: issue #11). Each drain costs ~40k instructions (a wake-up,
#: the paths normalised, a spool frame, an upsert by the ingester), so a quiet site pays it per few requests.
FLUSH_INTERVAL_SECONDS: Final = 10.0


class BlockedCookieFlusher:
    """Drains ``leaks`` into the aggregates spool on a thread; no I/O before ``start``."""

    def __init__(self, leaks: LeakCounter, spool_dir: Path, *, interval: float = FLUSH_INTERVAL_SECONDS) -> None:
        self.leaks = leaks
        self.spool = SpoolWriter(spool_dir)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def flush(self) -> int:
        """Append what was counted since the last flush; returns the keys written."""
        counts = self.leaks.drain()
        items = [[d, n, p, c] for (d, n, p), c in counts.items()]
        at_ms = time.time_ns() // 1_000_000
        for start in range(0, len(items), _KEYS_PER_FRAME):
            self.spool.append(orjson.dumps({"blocked": items[start : start + _KEYS_PER_FRAME], "at_ms": at_ms}))
        return len(items)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cookiegate-blocked-cookies", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join()
        self._thread = None
        self.flush()
        self.spool.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

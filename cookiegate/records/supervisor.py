"""Starts the data dir's ingest process from the gate's lifespan and restarts it if it dies.

Every worker runs a supervisor thread, but only one ingester runs per data dir: the ingester itself holds the
data dir's lock, and a supervisor spawns one only while that lock is free (a sidecar ``cookiegate ingest``
holding it means no worker spawns anything). A crash restarts after a backoff (1 s doubling to 30 s).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from cookiegate.records.ingest_lock import EXIT_LOCK_BUSY, lock_is_free

logger = logging.getLogger("cookiegate.ingest")

_CHECK_EVERY: Final = 2.0
#: The ingester's CPU priority below the server's. Its passes come in batches (a second of records at once);
#: at equal priority on a shared core, requests arriving during a batch queue behind it (the p99 of a logged
#: site). At nice 10 the scheduler hands the core to a waking server first, and the ingester still gets ~10%
#: of a contended core: far more than it needs (storing a record costs ~3% of serving its request).
INGEST_NICENESS: Final = 10
_MAX_BACKOFF: Final = 30.0
_STOP_GRACE: Final = 10.0


class IngestSupervisor:
    """Keeps ``cookiegate ingest <args>`` running for ``data_dir`` while this process serves. No I/O until ``start``."""

    def __init__(self, data_dir: Path, args: Sequence[str], *, check_every: float = _CHECK_EVERY) -> None:
        self.data_dir = data_dir
        self.args = list(args)
        self.check_every = check_every
        self.child: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "cookiegate", "ingest", *self.args,
            "--nice", str(INGEST_NICENESS), "--parent-pid", str(os.getpid()),
        ]  # fmt: skip

    def start(self) -> None:
        """Start the supervising thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cookiegate-ingest-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising and ask our ingester to finish its pass and exit (idempotent)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join()
        self._thread = None
        child, self.child = self.child, None
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(_STOP_GRACE)
            except subprocess.TimeoutExpired:
                logger.error("ingester %d did not stop within %.0fs; killing it (the spool keeps its records)",
                             child.pid, _STOP_GRACE)  # fmt: skip
                child.kill()
                child.wait()
        # An ingester that stopped cleanly (exit 0) made its own final pass; only one killed before it could
        # (e.g. terminated while still starting up) leaves a spool that a one-off pass stores now.
        if child is not None and child.returncode not in (0, EXIT_LOCK_BUSY):
            self._final_pass()

    def _final_pass(self) -> None:
        """Store what is left when our ingester stopped before it could (e.g. killed while starting up)."""
        try:
            if not lock_is_free(self.data_dir):
                return  # another worker's ingester carries on
            command = [*self.command(), "--once"]
            done = subprocess.run(command, stdin=subprocess.DEVNULL, timeout=_STOP_GRACE * 3, check=False)  # noqa: S603
        except (OSError, subprocess.TimeoutExpired):
            logger.exception("final ingest pass failed; the spool is stored at the next start")
            return
        if done.returncode not in (0, EXIT_LOCK_BUSY):
            logger.error("final ingest pass exited %d; the spool is stored at the next start", done.returncode)

    def _run(self) -> None:
        backoff = 0.0
        delay = 0.0
        while not self._stop.wait(delay):
            delay = self.check_every
            child = self.child
            if child is not None:
                code = child.poll()
                if code is None:
                    continue
                self.child = None
                if code not in (0, EXIT_LOCK_BUSY, -15):
                    backoff = min(_MAX_BACKOFF, backoff * 2 or 1.0)
                    self.restarts += 1
                    logger.error("ingest process %d died (exit %s); restarting in %.0fs", child.pid, code, backoff)
                    delay = backoff
                    continue
            try:
                if not lock_is_free(self.data_dir):
                    continue  # another worker's ingester, or an operator's sidecar, has this data dir
                self.child = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL)  # noqa: S603
            except OSError:
                logger.exception("cannot start the ingest process for %s; retrying", self.data_dir)
                continue
            if backoff:
                backoff = backoff / 2  # a restart that stays up earns its way back to quick restarts

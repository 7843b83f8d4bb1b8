"""Small files beside the spool: the ingester's counters for ``doctor``, and the trusted proxy list.

The ingester is another process, so its health is a JSON file it rewrites (atomically) at most once a second
when something changed, and every half minute when nothing did: state, last error, records stored, corrupt
frames skipped, records the writers dropped, spool backlog.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Final

import orjson

from cookiegate.stores.protocols import PurgeResult

if TYPE_CHECKING:
    from cookiegate.records.channels import Channel

_PROXIES_FILE: Final = "trusted_proxies.json"
_WRITE_EVERY_NS: Final = 1_000_000_000
#: An idle ingester rewrites its unchanged status this often (a heartbeat; each rewrite costs a file replace).
_HEARTBEAT_NS: Final = 30_000_000_000
#: A failure is logged with its traceback once, then at most this often while it lasts.
_REPEAT_WARNING_NS: Final = 60_000_000_000


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    temporary.replace(path)


class IngestStatus:
    """The ingester's counters, mirrored to ``path``; writing it never raises (a full disk must not stop ingest)."""

    def __init__(self, path: Path, *, pid: int) -> None:
        self.path = path
        self.state: dict[str, object] = {"pid": pid, "started_ms": _now_ms(), "state": "starting", "failures": 0}
        self._written_ns = 0
        self._warned_ns = 0
        self._written: tuple[object, ...] = ()

    def ok(self, channels: Sequence[Channel], *, stopped: bool = False) -> None:
        self.state.update(state="stopped" if stopped else "ok", last_ok_ms=_now_ms(), last_error=None)
        self._warned_ns = 0
        self._save(channels, force=stopped)

    def failing(self, exc: BaseException, channels: Sequence[Channel], *, retry_in: float) -> bool:
        """Note a failure; True when it deserves a loud log line (first of a run, then once a minute)."""
        self.state.update(
            state="failing", last_error=f"{type(exc).__name__}: {exc}", retry_in_s=retry_in,
            failures=int(str(self.state["failures"])) + 1, last_failure_ms=_now_ms(),
        )  # fmt: skip
        self._save(channels, force=True)
        now = time.monotonic_ns()
        if not self._warned_ns or now - self._warned_ns >= _REPEAT_WARNING_NS:
            self._warned_ns = now
            return True
        return False

    def note_purge(self, result: PurgeResult) -> None:
        self.state["last_purge"] = {"at_ms": _now_ms(), **asdict(result)}

    def _save(self, channels: Sequence[Channel], *, force: bool) -> None:
        now = time.monotonic_ns()
        if not force and now - self._written_ns < _WRITE_EVERY_NS:
            return
        # What the file says apart from its timestamps: an idle pass (every second) leaves it alone.
        said = (self.state["state"], *(c.counters.snapshot() for c in channels))
        if not force and said == self._written and now - self._written_ns < _HEARTBEAT_NS:
            return
        if channels:
            self.state["channels"] = {c.name: asdict(c.counters) for c in channels}
        self.state["updated_ms"] = _now_ms()
        try:
            write_atomically(self.path, orjson.dumps(self.state, option=orjson.OPT_INDENT_2))
            self._written_ns = now
            self._written = said
        except OSError:
            pass  # the data dir is full or read-only: the log line of the failure says more


def read_status(data_dir: Path) -> dict[str, object] | None:
    """The last status the data dir's ingester wrote, or None."""
    try:
        value = orjson.loads((data_dir / "ingest-status.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def save_trusted_proxies(data_dir: Path, networks: Sequence[object]) -> None:
    """Note the proxy list in the data dir, so the ingester resolves client addresses the way the gate was told."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomically(data_dir / _PROXIES_FILE, orjson.dumps([str(n) for n in networks]))


def load_trusted_proxies(data_dir: Path) -> list[str]:
    """The proxy list the last gate using ``data_dir`` ran with (none if unknown)."""
    try:
        value = orjson.loads((data_dir / _PROXIES_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _now_ms() -> int:
    return time.time_ns() // 1_000_000

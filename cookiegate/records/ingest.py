"""The ingest process: moves spool segments into the stores, outside every request-serving process.

One per data dir however many workers (elected by ``flock``, ``ingest_lock.py``); started and
supervised from the gate's lifespan (``records/supervisor.py``) or run by operators as ``cookiegate ingest``.
Each spool chunk commits in ONE transaction with the offset it reached, so an ingester killed anywhere
resumes exactly there: nothing lost, nothing doubled. A locked, full, read-only or vanished store never
reaches the site: the ingester retries with backoff, warns loudly and writes its counters to
``data_dir/ingest-status.json`` for ``cookiegate doctor``. It also runs the daily purge (04:00 Seoul).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cookiegate.clock import utc_now
from cookiegate.destruction import shred
from cookiegate.keyfile import configured_keyring
from cookiegate.proxies import TrustedProxies
from cookiegate.records import spool
from cookiegate.records.channels import AccessChannel, Channel, LedgerChannel, open_channels
from cookiegate.records.checkpoint import daily_checkpoint
from cookiegate.records.retention import purge, seconds_until_next_purge
from cookiegate.records.status import IngestStatus, load_trusted_proxies

logger = logging.getLogger("cookiegate.ingest")

#: One transaction per chunk read (~1300 access records): large enough that a commit's fixed cost is
#: small per row, small enough that a crash re-reads little.
CHUNK_BYTES: Final = 256 * 1024
_MAX_BACKOFF: Final = 30.0
_FIRST_PURGE_DELAY: Final = 5.0
#: An idle pass only stats: a segment that has not grown is opened (to see whether its writer sealed it, so
#: it can be deleted) at most this often, and a spool folder whose mtime is unchanged is listed again only
#: this often (a file created within the same timestamp tick leaves the mtime as it was).
_IDLE_RECHECK_NS: Final = 5_000_000_000
#: In the ``run`` loop, a segment that grew by less than this since its last pass waits up to
#: ``_IDLE_RECHECK_NS`` for more; a busy site (~1000 records a second) is stored every pass as before.
_BATCH_BYTES: Final = 64 * 1024
#: The ``run`` loop's longest sleep on a quiet site: no later than a waiting batch is due anyway.
_QUIET_WAIT: Final = _IDLE_RECHECK_NS / 1e9


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Which stores an ingester fills from which data dir; ``access_url`` None means the access log is off."""

    data_dir: Path
    access_url: str | None
    ledger_url: str
    aggregates_url: str
    retention_months: int
    create: bool = False
    interval: float = 1.0


class Ingester:
    """The ingest loop; ``run`` until ``stop`` is set, ``drain`` once for an operator command."""

    def __init__(self, config: IngestConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.status = IngestStatus(config.data_dir / "ingest-status.json", pid=os.getpid())
        self._channels: list[Channel] = []
        self._offsets: dict[tuple[str, str], int] = {}
        self._proxies_mtime: float | None = None
        self._proxies = TrustedProxies(())
        self._clock = clock
        #: Per channel: (folder mtime, when listed, segments); per segment: the next time an unchanged one is opened.
        self._listings: dict[str, tuple[int, int, list[Path]]] = {}
        self._recheck_at: dict[tuple[str, str], int] = {}
        #: The last pass found a segment grown by a whole batch: records arrive fast, pass every ``interval``.
        self._busy = False

    # -- stores --------------------------------------------------------------------------------------

    def _open(self) -> list[Channel]:
        if not self._channels:
            cfg = self.config
            self._channels = open_channels(
                cfg.data_dir, cfg.ledger_url, cfg.access_url, cfg.aggregates_url, self._proxies, create=cfg.create
            )
        return self._channels

    def close(self) -> None:
        for channel in self._channels:
            try:
                channel.store.close()
            except Exception:  # a broken connection cannot be closed cleanly; it is dropped either way
                logger.debug("closing %s store failed", channel.name, exc_info=True)
        self._channels = []
        self._offsets.clear()  # offsets are re-read from the store after a reconnect
        self._listings.clear()
        self._recheck_at.clear()

    def _refresh_proxies(self) -> None:
        path = self.config.data_dir / "trusted_proxies.json"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime != self._proxies_mtime:
            self._proxies = TrustedProxies(load_trusted_proxies(self.config.data_dir))
            self._proxies_mtime = mtime
            for channel in self._channels:
                if isinstance(channel, AccessChannel):
                    channel.proxies = self._proxies

    # -- one pass ------------------------------------------------------------------------------------

    def drain(self, *, idle_shortcuts: bool = False) -> int:
        """Move everything spooled so far into the stores; returns the records stored. Raises on store faults.

        ``idle_shortcuts`` (the ``run`` loop): a segment that has not grown by ``_BATCH_BYTES`` since the last
        pass is looked at again only every few seconds, so an idle pass costs a few ``stat`` calls and a quiet
        site's records reach the store in batches, up to 5 s late; a sealed, fully stored segment is deleted a
        few seconds late. An operator's ``drain`` (and the final one at stop) looks at everything.
        """
        if not idle_shortcuts:
            self._listings.clear()
            self._recheck_at.clear()
        self._busy = False
        self._refresh_proxies()
        stored = 0
        for channel in self._open():
            before = channel.counters.stored
            backlog = 0
            for path in self._segments(channel):
                backlog += self._drain_segment(channel, path)
            channel.counters.backlog_bytes = backlog
            stored += channel.counters.stored - before
        return stored

    def _segments(self, channel: Channel) -> list[Path]:
        """The channel's segments; the folder is listed again only when its mtime moved (or now and then)."""
        try:
            mtime = os.stat(channel.directory).st_mtime_ns
        except FileNotFoundError:
            return []
        now = time.monotonic_ns()
        listed = self._listings.get(channel.name)
        if listed is not None and listed[0] == mtime and now - listed[1] < _IDLE_RECHECK_NS:
            return listed[2]
        paths = spool.segments(channel.directory)
        self._listings[channel.name] = (mtime, now, paths)
        return paths

    def _drain_segment(self, channel: Channel, path: Path) -> int:
        """Ingest what ``path`` holds past its offset; delete it once sealed and done. Returns bytes left."""
        key = (channel.name, path.name)
        offset = self._offsets.get(key)
        if offset is not None:
            # The idle pass (every interval, nothing new): one stat, no open, lock probe or store query.
            try:
                waiting = os.stat(path).st_size - offset
            except FileNotFoundError:
                self._listings.pop(channel.name, None)
                return 0
            # A little new data waits for more (up to the recheck time): the records are durable in the
            # spool already, and a pass's fixed cost (open, lock probe, transaction) is then shared by many.
            if waiting < _BATCH_BYTES:
                if time.monotonic_ns() < self._recheck_at.get(key, 0):
                    return waiting
            else:
                self._busy = True
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._listings.pop(channel.name, None)
            return 0
        try:
            # Sealed first, size second: a writer that still holds the lock may append after we measured.
            sealed = spool.is_sealed(fd)
            offset = self._offsets.get(key)
            if offset is None:
                offset = channel.store.spool_offset(path.name)
            pending = b""
            base = offset
            for _, chunk in spool.read_from(fd, offset, CHUNK_BYTES):
                data = pending + chunk if pending else chunk
                payloads, consumed, corrupt = spool.parse_frames(data, sealed=False)
                pending = data[consumed:]
                base = self._commit(channel, path.name, payloads, base + consumed, corrupt, base)
            if sealed and pending:
                _, consumed, corrupt = spool.parse_frames(pending, sealed=True)
                logger.warning("skipped a torn record at the end of spool segment %s", path.name)
                base = self._commit(channel, path.name, [], base + consumed, corrupt, base)
                pending = b""
            self._offsets[key] = base
            size = os.fstat(fd).st_size
            if sealed and base >= size:
                shred(path)  # 시행령 제16조: overwritten, not just unlinked
                channel.store.forget_segment(path.name)
                self._offsets.pop(key, None)
                self._recheck_at.pop(key, None)
                self._listings.pop(channel.name, None)
                return 0
            self._recheck_at[key] = time.monotonic_ns() + _IDLE_RECHECK_NS
            return size - base
        finally:
            os.close(fd)

    def _commit(
        self, channel: Channel, segment: str, payloads: list[bytes], offset: int, corrupt: int, base: int
    ) -> int:
        if offset == base:
            return base
        channel.counters.corrupt += corrupt
        channel.write(payloads, segment=segment, offset=offset, now_ms=int(self._clock() * 1000))
        channel.counters.last_commit_ms = int(self._clock() * 1000)
        self._offsets[(channel.name, segment)] = offset
        return offset

    # -- the loop ------------------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, parent_pid: int | None = None) -> None:
        """Drain every ``interval`` until ``stop``; store faults back off (0.5 s doubling to 30 s), never exit."""
        backoff = 0.0
        next_purge = time.monotonic() + _FIRST_PURGE_DELAY
        while not stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                logger.warning("the server that started this ingester is gone; stopping")
                break
            try:
                self.drain(idle_shortcuts=True)
                if self.config.access_url is not None and time.monotonic() >= next_purge:
                    self._purge()
                    next_purge = time.monotonic() + seconds_until_next_purge(utc_now())
                if backoff:
                    logger.warning("stores reachable again; spool backlog %d bytes", self._backlog())
                backoff = 0.0
                self.status.ok(self._channels)
            except Exception as exc:  # locked, full, read-only, gone, or a server restart: retry, shout
                backoff = min(_MAX_BACKOFF, backoff * 2 or 0.5)
                if self.status.failing(exc, self._channels, retry_in=backoff):
                    logger.exception("ingest failed; records stay in the spool and are retried in %.1fs", backoff)
                self.close()
            stop.wait(backoff or self.next_wait())
        try:
            self.drain()  # what arrived during the last interval, so a clean stop leaves an empty spool
        except Exception:
            logger.warning("final drain failed; the spool is ingested at the next start", exc_info=True)
        self.status.ok(self._channels, stopped=True)
        self.close()

    def next_wait(self) -> float:
        """Seconds until the next pass: ``interval`` while records arrive fast, else until a batch is due.

        On a quiet site every pass but the one that stores a batch only finds nothing due; each costs ~100k
        instructions of this process (callgrind), so a site serving 30 requests a second paid ~3k per request
        for passes that did nothing. Records are durable in the spool meanwhile, and reach the store no later
        than the batching already allowed (``_IDLE_RECHECK_NS``); a stop is seen at once (``stop.wait``).
        """
        interval = self.config.interval
        if self._busy:
            return interval
        longest = max(interval, _QUIET_WAIT)
        if not self._recheck_at:
            return longest
        due = (min(self._recheck_at.values()) - time.monotonic_ns()) / 1e9
        return min(max(interval, due), longest)

    def _purge(self) -> None:
        for channel in self._channels:
            if isinstance(channel, AccessChannel):
                result = purge(channel.store, months=self.config.retention_months)
                self.status.note_purge(result)
            if isinstance(channel, LedgerChannel):
                keys = configured_keyring(self.config.data_dir)
                if keys is not None:  # the daily signed head, kept apart (records/checkpoint.py)
                    daily_checkpoint(((e.seq, e.hash) for e in channel.store.rows()), keys, self.config.data_dir)

    def _backlog(self) -> int:
        return sum(c.counters.backlog_bytes for c in self._channels)

"""The statutory access log: one record per request, appended to a spool on the request path, stored in batches.

통신비밀보호법 제2조11호 마·사목 and 시행령 제41조②2 require a site to keep log records and the client address
of every access. A record must survive the process being killed right after the response was sent, so the
request path appends one JSON line to a spool file with a single ``os.write`` (~1 µs: the kernel keeps the
bytes even if the process dies) and a writer thread moves spool lines into the store ~1000 at a time. The
store remembers how far each spool segment was ingested in the same transaction as the rows, so a restart
re-reads the spool without duplicating anything. Everything slow — resolving the client address through
trusted proxies, parsing the User-Agent (~1 ms uncached) — happens in the writer.

Never recorded: cookie values, query strings, request or response bodies.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Final

import orjson
from starlette.types import Scope

from cookiegate.consent import Consent
from cookiegate.leaks import LeakCounter
from cookiegate.policy import CATEGORIES
from cookiegate.stores import ACCESS_COLUMNS, AccessStore
from cookiegate.useragents import describe

logger = logging.getLogger("cookiegate.accesslog")

SPOOL_SUFFIX: Final = ".spool"
SEGMENT_BYTES: Final = 64 * 1024 * 1024
DEFAULT_MAX_SPOOL_BYTES: Final = 1024 * 1024 * 1024
BATCH_ROWS: Final = 1000
#: At most this much spool is read at once (~4000 lines). Reads are sized to the bytes really there: a
#: fixed 4 MiB ``read()`` allocated 4 MiB per wake-up and shrank it, a pattern that fragments malloc arenas.
_READ_CHUNK: Final = 1024 * 1024
_MAX_CHAIN: Final = 512
_NO_PORT: Final = None
_perf_counter_ns: Final = time.perf_counter_ns
_time_ns: Final = time.time_ns
_dumps: Final = orjson.dumps
_APPEND_NEWLINE: Final = orjson.OPT_APPEND_NEWLINE
_write: Final = os.write
_PROTOCOLS: Final = {v: f"HTTP/{v}" for v in ("1.0", "1.1", "2", "2.0", "3")}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One stored access: what 시행령 제41조 calls 로그기록자료 and 접속지 추적자료, and the consent state.

    ``ts_ms`` is the request start in UTC ms; ``client_ip`` is the address resolved through trusted proxies,
    ``peer_ip`` the direct TCP peer, ``forwarded_chain`` the raw forwarding header as evidence.
    """

    ts_ms: int
    client_ip: str | None
    client_port: int | None
    peer_ip: str | None
    forwarded_chain: str | None
    host: str
    method: str
    path: str
    status: int
    sent_bytes: int
    duration_us: int
    protocol: str
    user_agent: str
    ua_family: str
    ua_os: str
    ua_device: str
    ua_bot: int
    granted: str
    gpc: int
    under14: int
    minor: int
    policy_version: str


#: A record as a store row (``ACCESS_COLUMNS`` order); the writer builds rows directly for speed.
as_row: Callable[[AccessRecord], tuple[object, ...]] = attrgetter(*ACCESS_COLUMNS)


# -- client address -----------------------------------------------------------------------------------------


def _split_host_port(token: str) -> tuple[str, int | None]:
    """``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:80`` or ``2001:db8::1`` → (address, port)."""
    token = token.strip().strip('"')
    if token.startswith("["):
        host, _, rest = token[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if token.count(":") == 1:
        host, _, port = token.partition(":")
        return host, int(port) if port.isdigit() else None
    return token, None


def parse_forwarded_for(header: str) -> list[tuple[str, int | None]]:
    """The ``for=`` hops of an RFC 7239 ``Forwarded`` header, nearest-the-client first."""
    hops: list[tuple[str, int | None]] = []
    for element in header.split(","):
        for pair in element.split(";"):
            key, _, value = pair.strip().partition("=")
            if key.lower() == "for" and value:
                hops.append(_split_host_port(value))
    return hops[-_MAX_CHAIN:]


def parse_x_forwarded_for(header: str) -> list[tuple[str, int | None]]:
    """The hops of an ``X-Forwarded-For`` header (repeats already joined with commas)."""
    return [_split_host_port(part) for part in header.split(",")[-_MAX_CHAIN:] if part.strip()]


class TrustedProxies:
    """Which direct peers may tell us the client address, and how to read it from them.

    Only a configured proxy's forwarding headers are believed: anyone else can send ``X-Forwarded-For``,
    and a forged address in the statutory log would point investigators at an innocent person. Through a
    chain of proxies the client is the rightmost address that is not itself a trusted proxy.
    """

    __slots__ = ("_cache", "networks")

    def __init__(self, cidrs: Iterable[str]) -> None:
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"trusted_proxies entry {cidr!r} is not an IP address or CIDR (e.g. '10.0.0.0/8', '::1')"
                ) from exc
        self.networks = tuple(networks)
        self._cache: dict[str, bool] = {}

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is one of our proxies (unparseable means no)."""
        known = self._cache.get(address)
        if known is not None:
            return known
        parsed = _parse_ip(address)
        if parsed is None:
            trusted = False
        else:
            if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
                parsed = parsed.ipv4_mapped
            trusted = any(parsed in network for network in self.networks)
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[address] = trusted
        return trusted

    def client(
        self, peer: str | None, peer_port: int | None, forwarded_for: str | None, forwarded: str | None
    ) -> tuple[str | None, int | None]:
        """The client address and port for the log: the peer, unless the peer is a trusted proxy."""
        if peer is None or not self.networks or not self.trusts(peer):
            return peer, peer_port
        # X-Forwarded-For is what most proxies (nginx, ALB, Cloudflare) append to; RFC 7239 otherwise.
        if forwarded_for:
            hops = parse_x_forwarded_for(forwarded_for)
        elif forwarded:
            hops = parse_forwarded_for(forwarded)
        else:
            return peer, peer_port
        candidate: tuple[str | None, int | None] = (peer, peer_port)
        for address, port in reversed(hops):
            if _parse_ip(address) is None:
                # "unknown" or an obfuscated name: the trusted hop that reported it is all we know.
                return candidate
            candidate = (address, port)
            if not self.trusts(address):
                return candidate
        return candidate


@lru_cache(maxsize=8192)
def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def describe_user_agent(raw: str) -> tuple[str, str, str, int]:
    """(browser family, OS family, device family, is-bot) of a User-Agent (useragents.py: bounded, cached)."""
    agent = describe(raw)
    return agent.browser, agent.os, agent.device, int(agent.is_bot)


# -- the spool ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Segment:
    """One spool file this process appends to (and holds an exclusive ``flock`` on while alive)."""

    name: str
    path: Path
    write_fd: int
    read_offset: int = 0


def _granted_key(granted: frozenset[str]) -> str:
    return ",".join(c for c in CATEGORIES if c in granted)


class AccessLogWriter:
    """The access log sink the gate calls per request, and the thread that stores what it spooled.

    ``log`` runs on the request path and only formats one line and appends it to the spool. A full
    spool (the store has been unreachable for a long time) or a full disk never fails a request: the record
    is counted in ``dropped`` and the writer warns loudly.

    The writer wakes every ``interval`` seconds. Each wake-up costs ~0.3-0.4 ms before the first row
    (cold caches after sleeping, a transaction, reopening the segment), so at 500 req/s a 0.2 s interval
    (100-row batches) doubled the writer's CPU per record; 1 s gives 500-row batches. Durability does not
    depend on it: every record is in the spool before its response ends.
    """

    def __init__(
        self,
        store_factory: Callable[[], AccessStore],
        spool_dir: Path,
        *,
        trusted_proxies: TrustedProxies,
        leaks: LeakCounter | None = None,
        max_spool_bytes: int = DEFAULT_MAX_SPOOL_BYTES,
        interval: float = 1.0,
        leak_interval: float = 30.0,
    ) -> None:
        self._store_factory = store_factory
        self.spool_dir = spool_dir
        self.proxies = trusted_proxies
        self.leaks = leaks
        self.max_spool_bytes = max_spool_bytes
        self.interval = interval
        self.leak_interval = leak_interval
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._fd = -1
        self._segment_bytes = 0
        self._written = 0
        self._ingested = 0
        self._granted_keys: dict[frozenset[str], str] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.dropped = 0
        self.corrupt = 0
        self.stored = 0
        self._warned_dropped = 0

    # -- request path --------------------------------------------------------------------------------

    def log(
        self,
        scope: Scope,
        status: int,
        sent_bytes: int,
        started_ns: int,
        consent: Consent,
        user_agent: bytes,
        forwarded_for: bytes | None,
        forwarded: bytes | None,
        outcome: str = "ok",
    ) -> None:
        """Append one record to the spool; runs once per request after its last body byte (~1.5 µs)."""
        duration_ns = _perf_counter_ns() - started_ns
        host = b""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
                break
        granted = self._granted_keys.get(consent.granted)
        if granted is None:
            granted = self._granted_keys[consent.granted] = _granted_key(consent.granted)
        fields = (
            (_time_ns() - duration_ns) // 1_000_000,
            scope.get("client"),
            host.decode("latin-1"),
            scope["method"],
            scope["path"],
            status,
            sent_bytes,
            duration_ns // 1000,
            scope.get("http_version", "1.1"),
            user_agent.decode("latin-1"),
            granted,
            consent.gpc,
            consent.under14,
            consent.minor,
            consent.version,
            None if forwarded_for is None else forwarded_for.decode("latin-1"),
            None if forwarded is None else forwarded.decode("latin-1"),
        )
        try:
            line = _dumps(fields, option=_APPEND_NEWLINE)
        except orjson.JSONEncodeError:
            # A path with lone surrogates (undecodable percent-escapes) is still an access to log.
            line = orjson.dumps(
                [f.encode("utf-8", "replace").decode() if isinstance(f, str) else f for f in fields],
                option=orjson.OPT_APPEND_NEWLINE,
            )
        # Globals bound to module names and the append done inline: ~0.2 µs of a ~1.5 µs budget.
        with self._lock:
            if self._written - self._ingested > self.max_spool_bytes:
                self.dropped += 1
                return
            if self._fd < 0:
                self._open_segment()
            try:
                written = _write(self._fd, line)
            except OSError:
                self.dropped += 1
                return
            self._written += written
            self._segment_bytes += written
            if self._segment_bytes >= SEGMENT_BYTES:
                self._open_segment()

    def _open_segment(self) -> None:
        """Start a new spool file (under ``_lock``); the writer finishes and deletes the previous one."""
        self.spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
        path = self.spool_dir / f"{name}{SPOOL_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        # The lock tells other processes' recovery this segment is alive; the kernel drops it if we die.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._segments.append(_Segment(name, path, fd))
        self._fd = fd
        self._segment_bytes = 0

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Recover what earlier processes left in the spool and start the writer thread (idempotent)."""
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            save_trusted_proxies(self.spool_dir, self.proxies)
            if self._fd < 0:
                self._open_segment()
            self._thread = threading.Thread(target=self._run, name="cookiegate-accesslog", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Store every spooled record, delete the spool files and stop the thread (idempotent)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join()
        self._thread = None

    @property
    def backlog_bytes(self) -> int:
        """Spooled bytes not yet in the store."""
        return self._written - self._ingested

    def _run(self) -> None:
        store: AccessStore | None = None
        next_leaks = time.monotonic() + self.leak_interval
        next_recovery = 0.0
        failing = False
        while True:
            stopping = self._stop.wait(self.interval)
            try:
                if store is None:
                    store = self._store_factory()
                if time.monotonic() >= next_recovery:
                    recover_spool(
                        self.spool_dir, store, skip={s.name for s in self._segments}, proxies=self.proxies
                    )
                    next_recovery = time.monotonic() + 60.0
                self._ingest_own(store, final=stopping)
                if stopping or time.monotonic() >= next_leaks:
                    self._persist_leaks(store)
                    next_leaks = time.monotonic() + self.leak_interval
                if failing:
                    logger.warning("access log store is back; spool backlog %d bytes", self.backlog_bytes)
                    failing = False
            except Exception:  # the store may be down or the disk full: keep spooling, retry, shout
                if not failing:
                    logger.exception(
                        "access log store failed; records stay in the spool (%s) and are retried", self.spool_dir
                    )
                failing = True
                if stopping:
                    logger.error(
                        "stopping with %d spooled bytes not stored; they are ingested at the next start",
                        self.backlog_bytes,
                    )
            if self.dropped > self._warned_dropped:
                logger.error(
                    "access log spool is full (%d bytes) or the disk refuses writes: %d records dropped so far",
                    self.backlog_bytes,
                    self.dropped,
                )
                self._warned_dropped = self.dropped
            if stopping:
                break
        if store is not None:
            store.close()

    def _ingest_own(self, store: AccessStore, *, final: bool) -> None:
        with self._lock:
            segments = list(self._segments)
            if final:
                # From here on a late request opens a fresh segment that the next start recovers.
                self._fd = -1
        for index, segment in enumerate(segments):
            finished = final or index < len(segments) - 1
            _ingest_segment(store, segment, self, final=finished)
            if finished:
                segment.path.unlink(missing_ok=True)
                store.forget_segment(segment.name)
                os.close(segment.write_fd)
                with self._lock:
                    self._segments.remove(segment)

    def note_ingested(self, spool_bytes: int, rows: int) -> None:
        """Account for a committed batch (the spool bound counts bytes not yet stored)."""
        self._ingested += spool_bytes
        self.stored += rows

    def _persist_leaks(self, store: AccessStore) -> None:
        if self.leaks is None:
            return
        counts = self.leaks.drain()
        if counts:
            store.add_blocked_cookies({key: n for key, n in counts.items()}, now_ms=time.time_ns() // 1_000_000)

    # -- spool line → record --------------------------------------------------------------------------

    def to_row(self, line: bytes) -> tuple[object, ...] | None:
        """The store row of one spool line, resolving the client and the User-Agent; None if corrupt."""
        try:
            (ts_ms, client, host, method, path, status, sent_bytes, duration_us, protocol, ua, granted, gpc,
             under14, minor, version, forwarded_for, forwarded) = orjson.loads(line)  # fmt: skip
        except (orjson.JSONDecodeError, ValueError, TypeError):
            return None
        peer, peer_port = (client[0], client[1]) if client else (None, _NO_PORT)
        client_ip, client_port = self.proxies.client(peer, peer_port, forwarded_for, forwarded)
        family, os_family, device, bot = describe_user_agent(ua)
        chain = forwarded_for if forwarded_for is not None else forwarded
        # The tuple is built in ``ACCESS_COLUMNS`` order directly: a frozen 22-field ``AccessRecord`` costs
        # ~5 µs per row to construct, half the writer's per-record budget.
        return (
            ts_ms, client_ip, client_port, peer, None if chain is None else chain[:1024], host[:255], method,
            path[:2048], status, sent_bytes, duration_us, _PROTOCOLS.get(protocol) or f"HTTP/{protocol}", ua[:1024],
            family, os_family,
            device, bot, granted, int(gpc), int(under14), int(minor), version,
        )  # fmt: skip


def _ingest_segment(store: AccessStore, segment: _Segment, writer: AccessLogWriter, *, final: bool) -> None:
    """Store the complete lines of ``segment`` after its read offset, advancing it batch by batch.

    The offset moves only after a batch commits (the store notes it in the same transaction), so a store
    failure mid-segment resumes exactly where the last commit ended. With ``final`` a trailing line without
    a newline (a write cut short by a full disk) is counted corrupt and skipped; otherwise it waits.
    """
    fd = os.open(segment.path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        # Up to the size now: what is appended meanwhile waits for the next wake-up (with ``final`` nothing is).
        size = os.fstat(fd).st_size
        position = segment.read_offset
        pending = b""
        while position < size:
            chunk = os.pread(fd, min(_READ_CHUNK, size - position), position)
            if not chunk:
                break
            position += len(chunk)
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n") + 1
            pending = data[cut:]
            lines = data[:cut].split(b"\n")[:-1] if cut else []
            to_row = writer.to_row
            for start in range(0, len(lines), BATCH_ROWS):
                batch = lines[start : start + BATCH_ROWS]
                rows = []
                for line in batch:
                    row = to_row(line)
                    if row is None:
                        writer.corrupt += 1
                        logger.warning("skipped a corrupt access log spool line in %s", segment.path.name)
                    else:
                        rows.append(row)
                size_ingested = sum(map(len, batch)) + len(batch)
                store.ingest(rows, segment=segment.name, offset=segment.read_offset + size_ingested)
                segment.read_offset += size_ingested
                writer.note_ingested(size_ingested, len(rows))
        if final and pending:
            writer.corrupt += 1
            logger.warning("skipped an incomplete access log spool line at the end of %s", segment.path.name)
            store.ingest([], segment=segment.name, offset=segment.read_offset + len(pending))
            segment.read_offset += len(pending)
            writer.note_ingested(len(pending), 0)
    finally:
        os.close(fd)


def recover_spool(
    spool_dir: Path, store: AccessStore, *, skip: Iterable[str] = (), proxies: TrustedProxies | None = None
) -> int:
    """Store what dead processes left in the spool; returns the number of segments recovered.

    A live process holds ``flock`` on its segments, so only abandoned ones are taken. The offset kept in
    the store says where ingestion stopped, so a segment cut short by a crash is finished, not repeated.
    """
    if not spool_dir.is_dir():
        return 0
    skipped = set(skip)
    recovered = 0
    if proxies is None:
        proxies = TrustedProxies(load_trusted_proxies(spool_dir))
    helper = AccessLogWriter(lambda: store, spool_dir, trusted_proxies=proxies)
    for path in sorted(spool_dir.glob(f"*{SPOOL_SUFFIX}")):
        name = path.name.removesuffix(SPOOL_SUFFIX)
        if name in skipped:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive and ingests it itself
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue
            except FileNotFoundError:
                continue  # another process finished it while we waited
            _ingest_segment(store, _Segment(name, path, -1, store.spool_offset(name)), helper, final=True)
            path.unlink()
            store.forget_segment(name)
            recovered += 1
        finally:
            os.close(fd)
    if recovered:
        logger.warning("recovered %d access log spool segment(s) left by a stopped process", recovered)
    return recovered


_PROXIES_FILE: Final = "trusted_proxies.json"


def save_trusted_proxies(spool_dir: Path, proxies: TrustedProxies) -> None:
    """Note the proxy list beside the spool, so a recovery by ``cookiegate`` resolves addresses the same way."""
    spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = spool_dir / f".{_PROXIES_FILE}.{os.getpid()}"
    temporary.write_bytes(orjson.dumps([str(n) for n in proxies.networks]))
    temporary.replace(spool_dir / _PROXIES_FILE)


def load_trusted_proxies(spool_dir: Path) -> list[str]:
    """The proxy list the last server using ``spool_dir`` ran with (none if unknown)."""
    try:
        value = orjson.loads((spool_dir / _PROXIES_FILE).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []

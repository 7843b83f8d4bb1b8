"""The embedded SQLite stores: the access log as one table per Seoul day, the consent ledger as one table.

One table per calendar day means a purge drops whole days and never rewrites the rest of the log;
``secure_delete`` makes SQLite overwrite every freed page with zeros, and a ``TRUNCATE`` checkpoint after the
purge empties the WAL, so purged records are not left readable in the file (개인정보 보호법 제21조: destroy
irreversibly). WAL with ``synchronous=NORMAL`` survives a killed process; the spool protects the rest.
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Final

from cookiegate.retention import seoul_day
from cookiegate.stores import (
    ACCESS_COLUMNS,
    LEDGER_COLUMNS,
    ChainHasher,
    Disclosure,
    LegalHold,
    PurgeResult,
)

SCHEMA_VERSION: Final = 1
_PARTITION_PREFIX: Final = "access_"
_COLUMN_TYPES: Final = {
    "ts_ms": "INTEGER NOT NULL", "client_port": "INTEGER", "status": "INTEGER", "sent_bytes": "INTEGER",
    "duration_us": "INTEGER", "ua_bot": "INTEGER", "gpc": "INTEGER", "under14": "INTEGER", "minor": "INTEGER",
}  # fmt: skip
_ACCESS_DDL: Final = ", ".join(f"{c} {_COLUMN_TYPES.get(c, 'TEXT')}" for c in ACCESS_COLUMNS)
_PLACEHOLDERS: Final = ", ".join("?" * len(ACCESS_COLUMNS))
_COLUMN_LIST: Final = ", ".join(ACCESS_COLUMNS)
_first: Final = itemgetter(0)


def connect(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection in WAL mode to a file created 0600 in a 0700 folder (it holds personal data).

    SQLite creates the ``-wal`` and ``-shm`` files with the database file's permissions, so creating the
    database 0600 first covers all three.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@lru_cache(maxsize=256)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text, strict=False)


def ip_matches(address: str | None, selector: str) -> bool:
    """Whether ``address`` is ``selector`` (an address) or inside it (a CIDR); used by holds and exports."""
    if address is None:
        return False
    if "/" not in selector:
        return address == selector
    try:
        return ipaddress.ip_address(address) in _network(selector)
    except ValueError:
        return False


def _partition_name(day: date) -> str:
    return f"{_PARTITION_PREFIX}{day:%Y%m%d}"


class SQLiteAccessStore:
    """The access log in one SQLite file: a table per Seoul day, holds, disclosures, audit lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        self._conn.create_function("ip_matches", 2, ip_matches, deterministic=True)
        self._lock = threading.Lock()
        self._partitions: dict[date, tuple[str, int, int]] = {}
        self._day_cache: tuple[int, int, date] = (0, 0, date.min)
        self.migrate()

    # -- schema ------------------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Create or upgrade the schema; returns the schema version now in the file."""
        with self._lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema {version}, newer than this cookiegate ({SCHEMA_VERSION}); upgrade"
                )
            self._conn.executescript(
                f"""
                BEGIN IMMEDIATE;
                CREATE TABLE IF NOT EXISTS partitions (
                    day TEXT PRIMARY KEY, name TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS spool_progress (
                    segment TEXT PRIMARY KEY, offset INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS legal_holds (
                    id INTEGER PRIMARY KEY, ip TEXT NOT NULL, from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL,
                    reason TEXT NOT NULL, created_ms INTEGER NOT NULL, released_ms INTEGER);
                CREATE TABLE IF NOT EXISTS access_held ({_ACCESS_DDL});
                CREATE TABLE IF NOT EXISTS disclosures (
                    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, agency TEXT NOT NULL, permit TEXT NOT NULL,
                    from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL, ip TEXT, records INTEGER NOT NULL,
                    out_file TEXT NOT NULL, sha256 TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS purge_audit (
                    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, cutoff_ms INTEGER NOT NULL,
                    removed INTEGER NOT NULL, kept_by_hold INTEGER NOT NULL, oldest_ms INTEGER,
                    newest_ms INTEGER, partitions INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS blocked_cookies (
                    direction TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL, count INTEGER NOT NULL,
                    first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (direction, name, path));
                PRAGMA user_version = {SCHEMA_VERSION};
                COMMIT;
                """
            )
            self._load_partitions()
            return SCHEMA_VERSION

    def _load_partitions(self) -> None:
        self._partitions = {
            date.fromisoformat(day): (name, start, end)
            for day, name, start, end in self._conn.execute("SELECT day, name, start_ms, end_ms FROM partitions")
        }

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- writing -----------------------------------------------------------------------------------------

    def _day_of(self, ts_ms: int) -> date:
        start, end, day = self._day_cache
        if start <= ts_ms < end:
            return day
        day, start, end = seoul_day(ts_ms)
        self._day_cache = (start, end, day)
        return day

    def _partition_for(self, day: date) -> str:
        known = self._partitions.get(day)
        if known is not None:
            return known[0]
        _, start, end = seoul_day(_day_start_probe(day))
        name = _partition_name(day)
        self._conn.execute(f"CREATE TABLE IF NOT EXISTS {name} ({_ACCESS_DDL})")
        self._conn.execute(
            "INSERT OR IGNORE INTO partitions (day, name, start_ms, end_ms) VALUES (?, ?, ?, ?)",
            (day.isoformat(), name, start, end),
        )
        self._partitions[day] = (name, start, end)
        return name

    def _by_day(self, rows: Sequence[tuple[object, ...]]) -> dict[date, Sequence[tuple[object, ...]]]:
        """``rows`` grouped by Seoul day; a batch within one day (nearly all) is found with two C-level scans."""
        if not rows:
            return {}
        stamps: list[int] = list(map(_first, rows))
        day = self._day_of(min(stamps))
        if max(stamps) < self._day_cache[1]:
            return {day: rows}
        by_day: dict[date, list[tuple[object, ...]]] = {}
        for stamp, row in zip(stamps, rows, strict=True):
            by_day.setdefault(self._day_of(stamp), []).append(row)
        return dict(by_day)

    def ingest(self, rows: Sequence[tuple[object, ...]], *, segment: str, offset: int) -> None:
        """Insert ``rows`` into their day tables and advance ``segment``'s offset in one transaction.

        The offset commits with the rows, so re-reading a spool after a crash never inserts a row twice.
        """
        by_day = self._by_day(rows)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for day, day_rows in by_day.items():
                    name = self._partition_for(day)
                    self._conn.executemany(
                        f"INSERT INTO {name} ({_COLUMN_LIST}) VALUES ({_PLACEHOLDERS})", day_rows
                    )
                self._conn.execute(
                    "INSERT INTO spool_progress (segment, offset) VALUES (?, ?) "
                    "ON CONFLICT (segment) DO UPDATE SET offset = excluded.offset",
                    (segment, offset),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                # Another process may have created partitions meanwhile; reload what is really there.
                self._load_partitions()
                raise

    def spool_offset(self, segment: str) -> int:
        with self._lock:
            row = self._conn.execute("SELECT offset FROM spool_progress WHERE segment = ?", (segment,)).fetchone()
        return 0 if row is None else int(row[0])

    def forget_segment(self, segment: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM spool_progress WHERE segment = ?", (segment,))

    # -- retention ---------------------------------------------------------------------------------------

    def purge_before(self, cutoff_ms: int, *, now_ms: int) -> PurgeResult:
        """Drop every day table that ends by ``cutoff_ms``, first copying rows under an active hold aside.

        Rows copied to ``access_held`` stay until their hold is released and they are past the cutoff;
        then they are deleted (zeroed by ``secure_delete``) like the rest.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._load_partitions()
                holds = self._active_holds()
                removed = kept = dropped = 0
                oldest: int | None = None
                newest: int | None = None
                for day in sorted(self._partitions):
                    name, start, end = self._partitions[day]
                    if start >= cutoff_ms:
                        break
                    whole = end <= cutoff_ms
                    bound = end if whole else cutoff_ms
                    count, low, high = self._conn.execute(
                        f"SELECT count(*), min(ts_ms), max(ts_ms) FROM {name} WHERE ts_ms < ?", (bound,)
                    ).fetchone()
                    held = self._copy_held(name, holds, start, bound)
                    if whole:
                        count_all = self._conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                        if count_all == count:
                            self._conn.execute(f"DROP TABLE {name}")
                            self._conn.execute("DELETE FROM partitions WHERE day = ?", (day.isoformat(),))
                            dropped += 1
                        else:  # rows stamped past the day's end (clock jump): keep those
                            self._conn.execute(f"DELETE FROM {name} WHERE ts_ms < ?", (bound,))
                    else:
                        self._conn.execute(f"DELETE FROM {name} WHERE ts_ms < ?", (bound,))
                    removed += count - held
                    kept += held
                    if count:
                        oldest = low if oldest is None else min(oldest, low)
                        newest = high if newest is None else max(newest, high)
                released = self._release_expired_held(cutoff_ms, holds)
                removed += released[0]
                if released[0]:
                    oldest = released[1] if oldest is None else min(oldest, released[1])
                    newest = released[2] if newest is None else max(newest, released[2])
                result = PurgeResult(
                    cutoff_ms=cutoff_ms,
                    removed=removed,
                    kept_by_hold=kept,
                    oldest_removed_ms=oldest,
                    newest_removed_ms=newest,
                    partitions_dropped=dropped,
                )
                self._conn.execute(
                    "INSERT INTO purge_audit (at_ms, cutoff_ms, removed, kept_by_hold, oldest_ms, newest_ms,"
                    " partitions) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (now_ms, cutoff_ms, result.removed, result.kept_by_hold, oldest, newest, dropped),
                )
                self._conn.execute(
                    "DELETE FROM disclosures WHERE at_ms < ?", (now_ms - _SEVEN_YEARS_MS,)
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._load_partitions()
                raise
            self._load_partitions()
            # Empty the WAL too: it may still hold copies of the pages just zeroed.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return result

    def _active_holds(self) -> list[tuple[str, int, int]]:
        return [
            (ip, start, end)
            for ip, start, end in self._conn.execute(
                "SELECT ip, from_ms, to_ms FROM legal_holds WHERE released_ms IS NULL"
            )
        ]

    def _copy_held(self, name: str, holds: list[tuple[str, int, int]], start: int, bound: int) -> int:
        """Move rows of ``name`` before ``bound`` that any active hold covers into ``access_held`` (once each)."""
        covering = [(ip, max(start, low), min(bound, high)) for ip, low, high in holds]
        covering = [(ip, low, high) for ip, low, high in covering if low < high]
        if not covering:
            return 0
        condition = " OR ".join("(ts_ms >= ? AND ts_ms < ? AND ip_matches(client_ip, ?))" for _ in covering)
        args = [value for ip, low, high in covering for value in (low, high, ip)]
        cursor = self._conn.execute(
            f"INSERT INTO access_held ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM {name} WHERE {condition}", args
        )
        return cursor.rowcount

    def _release_expired_held(self, cutoff_ms: int, holds: list[tuple[str, int, int]]) -> tuple[int, int, int]:
        """Delete held rows past the cutoff that no active hold covers any more."""
        doomed = [
            (rowid, ts, ip)
            for rowid, ts, ip in self._conn.execute(
                "SELECT rowid, ts_ms, client_ip FROM access_held WHERE ts_ms < ?", (cutoff_ms,)
            )
            if not any(start <= ts < end and ip_matches(ip, sel) for sel, start, end in holds)
        ]
        if not doomed:
            return 0, 0, 0
        self._conn.executemany("DELETE FROM access_held WHERE rowid = ?", [(rowid,) for rowid, _, _ in doomed])
        stamps = [ts for _, ts, _ in doomed]
        return len(doomed), min(stamps), max(stamps)

    def add_hold(self, ip: str, from_ms: int, to_ms: int, reason: str, *, now_ms: int) -> int:
        """Keep records of ``ip`` (address or CIDR) in ``[from_ms, to_ms)`` until the hold is released."""
        _network(ip)  # raises ValueError for anything that is not an address or a network
        if not reason.strip():
            raise ValueError("a legal hold needs a reason (case number, request reference)")
        if from_ms >= to_ms:
            raise ValueError("a legal hold needs --from before --to")
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO legal_holds (ip, from_ms, to_ms, reason, created_ms) VALUES (?, ?, ?, ?, ?)",
                (ip, from_ms, to_ms, reason.strip(), now_ms),
            )
        return int(cursor.lastrowid or 0)

    def holds(self, *, include_released: bool = False) -> list[LegalHold]:
        query = "SELECT id, ip, from_ms, to_ms, reason, created_ms, released_ms FROM legal_holds"
        if not include_released:
            query += " WHERE released_ms IS NULL"
        with self._lock:
            return [LegalHold(*row) for row in self._conn.execute(query + " ORDER BY id")]

    def release_hold(self, hold_id: int, *, now_ms: int) -> bool:
        with self._lock:
            cursor = self._conn.execute(
                "UPDATE legal_holds SET released_ms = ? WHERE id = ? AND released_ms IS NULL", (now_ms, hold_id)
            )
        return cursor.rowcount == 1

    # -- reading -----------------------------------------------------------------------------------------

    def _sources(self, from_ms: int, to_ms: int) -> list[str]:
        self._load_partitions()
        names = ["access_held"]
        for _, (name, start, end) in sorted(self._partitions.items()):
            if start < to_ms and end > from_ms:
                names.append(name)
        return names

    @staticmethod
    def _where(ip: str | None) -> tuple[str, tuple[object, ...]]:
        if ip is None:
            return "", ()
        if "/" in ip:
            return " AND ip_matches(client_ip, ?)", (ip,)
        return " AND client_ip = ?", (ip,)

    def count(self, from_ms: int, to_ms: int, ip: str | None = None) -> int:
        where, args = self._where(ip)
        with self._lock:
            return sum(
                int(self._conn.execute(
                    f"SELECT count(*) FROM {name} WHERE ts_ms >= ? AND ts_ms < ?{where}", (from_ms, to_ms, *args)
                ).fetchone()[0])
                for name in self._sources(from_ms, to_ms)
            )

    def records(self, from_ms: int, to_ms: int, ip: str | None = None) -> Iterator[tuple[object, ...]]:
        where, args = self._where(ip)
        with self._lock:
            sources = self._sources(from_ms, to_ms)
        for name in sources:
            # A separate read connection: a long export must not hold the writer's lock.
            reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            reader.create_function("ip_matches", 2, ip_matches, deterministic=True)
            try:
                yield from reader.execute(
                    f"SELECT {_COLUMN_LIST} FROM {name} WHERE ts_ms >= ? AND ts_ms < ?{where} ORDER BY ts_ms",
                    (from_ms, to_ms, *args),
                )
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):  # purged between listing and reading
                    raise
            finally:
                reader.close()

    def add_disclosure(self, disclosure: Disclosure) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO disclosures (at_ms, agency, permit, from_ms, to_ms, ip, records, out_file, sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (disclosure.at_ms, disclosure.agency, disclosure.permit, disclosure.from_ms, disclosure.to_ms,
                 disclosure.ip, disclosure.records, disclosure.out_file, disclosure.sha256),
            )

    def disclosures(self) -> list[Disclosure]:
        with self._lock:
            return [
                Disclosure(*row)
                for row in self._conn.execute(
                    "SELECT at_ms, agency, permit, from_ms, to_ms, ip, records, out_file, sha256"
                    " FROM disclosures ORDER BY id"
                )
            ]

    def add_blocked_cookies(self, counts: Mapping[tuple[str, str, str], int], *, now_ms: int) -> None:
        if not counts:
            return
        with self._lock:
            self._conn.executemany(
                "INSERT INTO blocked_cookies (direction, name, path, count, first_ms, last_ms)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (direction, name, path)"
                " DO UPDATE SET count = count + excluded.count, last_ms = excluded.last_ms",
                [(d, n, p, c, now_ms, now_ms) for (d, n, p), c in counts.items()],
            )

    def blocked_cookies(self) -> list[tuple[str, str, str, int]]:
        with self._lock:
            return [
                (str(d), str(n), str(p), int(c))
                for d, n, p, c in self._conn.execute(
                    "SELECT direction, name, path, count FROM blocked_cookies ORDER BY count DESC, name"
                )
            ]

    def audit_lines(self) -> list[dict[str, object]]:
        with self._lock:
            cursor = self._conn.execute(
                "SELECT at_ms, cutoff_ms, removed, kept_by_hold, oldest_ms, newest_ms, partitions"
                " FROM purge_audit ORDER BY id"
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

    def stats(self) -> dict[str, object]:
        """Counts and shares over every stored record (a full scan: this is for reports, not requests)."""
        totals = [0, 0, 0, 0]
        granted: dict[str, int] = {}
        oldest: int | None = None
        newest: int | None = None
        with self._lock:
            for name in self._sources(0, 2**62):
                row = self._conn.execute(
                    f"SELECT count(*), sum(gpc), sum(under14), sum(minor), min(ts_ms), max(ts_ms) FROM {name}"
                ).fetchone()
                count = int(row[0])
                if not count:
                    continue
                for i in range(4):
                    totals[i] += int(row[i] or 0)
                oldest = row[4] if oldest is None else min(oldest, row[4])
                newest = row[5] if newest is None else max(newest, row[5])
                for value, n in self._conn.execute(f"SELECT granted, count(*) FROM {name} GROUP BY granted"):
                    for category in str(value or "").split(","):
                        if category:
                            granted[category] = granted.get(category, 0) + int(n)
            partitions = len(self._partitions)
        size = sum(p.stat().st_size for p in _db_files(self.path))
        return {
            "access_records": totals[0],
            "gpc_requests": totals[1],
            "under14_requests": totals[2],
            "minor_requests": totals[3],
            "granted_requests": granted,
            "oldest_ms": oldest,
            "newest_ms": newest,
            "partitions": partitions,
            "size_bytes": size,
        }


def _db_files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def _day_start_probe(day: date) -> int:
    """A ms instant inside ``day`` (Seoul noon), to ask ``seoul_day`` for the day's exact bounds."""
    from datetime import datetime, time

    from cookiegate.retention import SEOUL, to_ms

    return to_ms(datetime.combine(day, time(12), SEOUL))


_SEVEN_YEARS_MS: Final = 7 * 366 * 86_400_000


class SQLiteLedgerStore:
    """The consent ledger in its own SQLite file, apart from the access log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        self._lock = threading.Lock()
        self.migrate()

    def migrate(self) -> int:
        with self._lock:
            self._conn.executescript(
                f"""
                BEGIN IMMEDIATE;
                CREATE TABLE IF NOT EXISTS consent_events (
                    seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, consent_id TEXT NOT NULL,
                    policy_version TEXT NOT NULL, locale TEXT NOT NULL, granted TEXT NOT NULL,
                    method TEXT NOT NULL, under14 INTEGER NOT NULL, gpc INTEGER NOT NULL, minor INTEGER NOT NULL,
                    ip_prefix TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS consent_events_by_id ON consent_events (consent_id, seq);
                PRAGMA user_version = {SCHEMA_VERSION};
                COMMIT;
                """
            )
        return SCHEMA_VERSION

    def append(self, event: Mapping[str, object], chain_hash: ChainHasher) -> dict[str, object]:
        """Append one event under a write lock, so concurrent writers (threads or processes) keep one chain."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                last = self._conn.execute(
                    "SELECT seq, hash FROM consent_events ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev_hash = (1, "") if last is None else (int(last[0]) + 1, str(last[1]))
                row: dict[str, object] = {**event, "seq": seq, "prev_hash": prev_hash}
                row["hash"] = chain_hash(prev_hash, row)
                self._conn.execute(
                    f"INSERT INTO consent_events ({', '.join(LEDGER_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})",
                    [row[c] for c in LEDGER_COLUMNS],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return row

    def history(self, consent_id: str) -> list[dict[str, object]]:
        with self._lock:
            cursor = self._conn.execute(
                f"SELECT {', '.join(LEDGER_COLUMNS)} FROM consent_events WHERE consent_id = ? ORDER BY seq",
                (consent_id,),
            )
            return [dict(zip(LEDGER_COLUMNS, row, strict=True)) for row in cursor]

    def rows(self) -> Iterator[dict[str, object]]:
        reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            for row in reader.execute(f"SELECT {', '.join(LEDGER_COLUMNS)} FROM consent_events ORDER BY seq"):
                yield dict(zip(LEDGER_COLUMNS, row, strict=True))
        finally:
            reader.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

"""The statutory access log in one SQLite file, one table per Seoul day.

Schema 3 rows (``access_rows.py``): ``ts_ms`` and ``client_ip`` (address or lookup tag) as columns, the rest
of the statutory record as the spooled payload text; no index (lookups by address are rare and scan one day
table each, while every index would cost every insert). A schema 1 or 2 file is rewritten on open.

A table per calendar day means a purge drops whole days and never rewrites the rest of the log; with
``secure_delete`` and a ``TRUNCATE`` checkpoint after the purge the removed bytes are overwritten, not just
unlinked (개인정보 보호법 제21조: destroy irreversibly).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Final, cast

from cookiegate.clock import seoul_day, seoul_midnight
from cookiegate.crypto import is_lookup_tag
from cookiegate.records.types import AccessRecord
from cookiegate.stores import sqlite_files as files
from cookiegate.stores.access_rows import ROW_COLUMNS, AccessRow, record_of_row, rows_of_records
from cookiegate.stores.protocols import AccessStats, Disclosure, LegalHold, PurgeResult
from cookiegate.stores.sqlite_access_schema import ACCESS_DDL, SCHEMA_VERSION, upgrade
from cookiegate.stores.sqlite_insert import insert_rows
from cookiegate.stores.sqlite_purge import purge_partitions

COLUMN_LIST: Final = ", ".join(ROW_COLUMNS)
#: ``None`` bound through an adapter that returns it unchanged. Without one, the sqlite3 module looks for
#: ``__adapt__``/``__conform__`` on every ``None`` parameter and builds an AttributeError message each time
#: (~3k instructions per NULL per row, callgrind); a C-level identity for ``None`` (``{}.get``) binds the
#: same NULL for ~0.3k. Process-wide, and harmless for every other sqlite3 user: ``None`` still binds NULL.
_IDENTITY_OF_NONE: Final = cast("Callable[[None], None]", {}.get)
sqlite3.register_adapter(type(None), _IDENTITY_OF_NONE)


class SQLiteAccessStore:
    """The access log in one SQLite file: a table per Seoul day, holds, disclosures, purge audit lines."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        self.location = str(path)
        self._conn = files.connect(path, create=create, what="access log")
        self._conn.create_function("ip_matches", 2, files.ip_matches, deterministic=True)
        self._lock = threading.Lock()
        self._partitions: dict[date, tuple[str, int, int]] = {}
        self._day: tuple[int, int, date] = (0, 0, date.min)
        # Only a new or older file is migrated: a reader (history, CLI) never takes the write lock for it.
        if files.check_schema(self._conn, path, SCHEMA_VERSION) < SCHEMA_VERSION:
            self.migrate()
        else:
            self._load_partitions()

    # -- schema ------------------------------------------------------------------------------------------

    def migrate(self) -> int:
        with self._lock:
            version = files.check_schema(self._conn, self.path, SCHEMA_VERSION)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                upgrade(self._conn, version)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
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
        start, end, day = self._day
        if start <= ts_ms < end:
            return day
        day, start, end = seoul_day(ts_ms)
        self._day = (start, end, day)
        return day

    def _table_for(self, day: date) -> str:
        """The day's table, created (and listed in ``partitions``) on its first row."""
        known = self._partitions.get(day)
        if known is None:
            _, start, end = seoul_day(seoul_midnight(day))
            name = f"access_{day:%Y%m%d}"
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {name} ({ACCESS_DDL})")
            self._conn.execute(
                "INSERT OR IGNORE INTO partitions (day, name, start_ms, end_ms) VALUES (?, ?, ?, ?)",
                (day.isoformat(), name, start, end),
            )
            known = self._partitions[day] = (name, start, end)
        return known[0]

    def _by_day(self, rows: Sequence[AccessRow]) -> dict[date, Sequence[AccessRow]]:
        """``rows`` grouped by Seoul day; a batch within one day (nearly all) costs two C-level scans."""
        if not rows:
            return {}
        stamps = [r[0] for r in rows]
        day = self._day_of(min(stamps))
        if max(stamps) < self._day[1]:
            return {day: rows}
        grouped: dict[date, list[AccessRow]] = {}
        for stamp, row in zip(stamps, rows, strict=True):
            grouped.setdefault(self._day_of(stamp), []).append(row)
        return dict(grouped)

    def ingest(self, records: Sequence[AccessRecord], *, segment: str, offset: int) -> None:
        self.ingest_rows(rows_of_records(records), segment=segment, offset=offset)

    def ingest_rows(self, rows: Sequence[AccessRow], *, segment: str, offset: int) -> None:
        by_day = self._by_day(rows)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for day, batch in by_day.items():
                    insert_rows(self._conn, self._table_for(day), ROW_COLUMNS, batch)
                self._conn.execute(files.SPOOL_PROGRESS_UPSERT, (segment, offset))
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self._load_partitions()  # another process may have created or purged partitions meanwhile
                raise

    def spool_offset(self, segment: str) -> int:
        with self._lock:
            return files.spool_offset(self._conn, segment)

    def forget_segment(self, segment: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM spool_progress WHERE segment = ?", (segment,))

    # -- retention ---------------------------------------------------------------------------------------

    def purge_before(self, cutoff_ms: int, *, now_ms: int) -> PurgeResult:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._load_partitions()
                result = purge_partitions(self._conn, self._partitions, cutoff_ms, now_ms=now_ms)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                self._load_partitions()
            # Empty the WAL too: it may still hold copies of the pages just zeroed.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return result

    def add_hold(self, ip: str, from_ms: int, to_ms: int, reason: str, *, now_ms: int) -> int:
        if not is_lookup_tag(ip):  # a sealed store's rows carry the tag, not the address (crypto.py)
            files.network(ip)  # ValueError for anything that is not an address or a network
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
        overlapping = [
            name for _, (name, start, end) in sorted(self._partitions.items()) if start < to_ms and end > from_ms
        ]
        return ["access_held", *overlapping]

    @staticmethod
    def _where(ip: str | None) -> tuple[str, tuple[object, ...]]:
        if ip is None:
            return "", ()
        if "/" in ip:
            return " AND ip_matches(client_ip, ?)", (ip,)
        return " AND client_ip = ?", (ip,)

    def count(self, from_ms: int, to_ms: int, ip: str | None = None) -> int:
        where, args = self._where(ip)
        total = 0
        with self._lock:
            for name in self._sources(from_ms, to_ms):
                sql = f"SELECT count(*) FROM {name} WHERE ts_ms >= ? AND ts_ms < ?{where}"
                total += int(self._conn.execute(sql, (from_ms, to_ms, *args)).fetchone()[0])
        return total

    def records(self, from_ms: int, to_ms: int, ip: str | None = None) -> Iterator[AccessRecord]:
        where, args = self._where(ip)
        with self._lock:
            sources = self._sources(from_ms, to_ms)
        reader = files.read_only(self.path)
        try:
            for name in sources:
                sql = f"SELECT {COLUMN_LIST} FROM {name} WHERE ts_ms >= ? AND ts_ms < ?{where} ORDER BY ts_ms"
                try:
                    rows = reader.execute(sql, (from_ms, to_ms, *args))
                except sqlite3.OperationalError as exc:
                    if "no such table" in str(exc):
                        continue  # purged between listing and reading
                    raise
                for row in rows:
                    yield record_of_row(*row)
        finally:
            reader.close()

    def add_disclosure(self, disclosure: Disclosure) -> None:
        d = disclosure
        with self._lock:
            self._conn.execute(
                "INSERT INTO disclosures (at_ms, agency, permit, from_ms, to_ms, ip, records, out_file, sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (d.at_ms, d.agency, d.permit, d.from_ms, d.to_ms, d.ip, d.records, d.out_file, d.sha256),
            )

    def disclosures(self) -> list[Disclosure]:
        sql = "SELECT at_ms, agency, permit, from_ms, to_ms, ip, records, out_file, sha256 FROM disclosures ORDER BY id"
        with self._lock:
            return [Disclosure(*row) for row in self._conn.execute(sql)]

    def audit_lines(self) -> list[dict[str, object]]:
        with self._lock:
            cursor = self._conn.execute(
                "SELECT at_ms, cutoff_ms, removed, kept_by_hold, oldest_ms, newest_ms, partitions"
                " FROM purge_audit ORDER BY id"
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

    def stats(self) -> AccessStats:
        records = 0
        oldest: int | None = None
        newest: int | None = None
        with self._lock:
            for name in self._sources(0, 2**62):
                count, low, high = self._conn.execute(f"SELECT count(*), min(ts_ms), max(ts_ms) FROM {name}").fetchone()
                if count:
                    records += int(count)
                    oldest = low if oldest is None else min(oldest, low)
                    newest = high if newest is None else max(newest, high)
            partitions = len(self._partitions)
        return AccessStats(records, oldest, newest, partitions, files.size_on_disk(self.path))

"""Report counters (blocked cookies) in their own SQLite file, apart from the statutory access log.

Issue #10 item 2: the statutory store holds only the statutory record set; what ``report`` analyses lives here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cookiegate.stores import sqlite_files as files

SCHEMA_VERSION: Final = 1


class SQLiteAggregatesStore:
    """Blocked-cookie counters per (direction, name, path), summed as the ingester brings them in."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        self.location = str(path)
        self._conn = files.connect(path, create=create, what="aggregates store")
        self._lock = threading.Lock()
        # Only a new or older file is migrated: a reader (history, CLI) never takes the write lock for it.
        if files.check_schema(self._conn, path, SCHEMA_VERSION) < SCHEMA_VERSION:
            self.migrate()

    def migrate(self) -> int:
        with self._lock:
            files.check_schema(self._conn, self.path, SCHEMA_VERSION)
            self._conn.executescript(
                f"""
                BEGIN IMMEDIATE;
                CREATE TABLE IF NOT EXISTS blocked_cookies (
                    direction TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL, count INTEGER NOT NULL,
                    first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (direction, name, path));
                {files.SPOOL_PROGRESS_DDL};
                PRAGMA user_version = {SCHEMA_VERSION};
                COMMIT;
                """
            )
        return SCHEMA_VERSION

    def add_blocked_cookies(
        self, counts: Mapping[tuple[str, str, str], int], *, now_ms: int, segment: str, offset: int
    ) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO blocked_cookies (direction, name, path, count, first_ms, last_ms)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (direction, name, path)"
                    " DO UPDATE SET count = count + excluded.count, last_ms = excluded.last_ms",
                    [(d, n, p, c, now_ms, now_ms) for (d, n, p), c in counts.items()],
                )
                self._conn.execute(files.SPOOL_PROGRESS_UPSERT, (segment, offset))
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def blocked_cookies(self) -> list[tuple[str, str, str, int]]:
        with self._lock:
            return [
                (str(d), str(n), str(p), int(c))
                for d, n, p, c in self._conn.execute(
                    "SELECT direction, name, path, count FROM blocked_cookies ORDER BY count DESC, name"
                )
            ]

    def spool_offset(self, segment: str) -> int:
        with self._lock:
            return files.spool_offset(self._conn, segment)

    def forget_segment(self, segment: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM spool_progress WHERE segment = ?", (segment,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

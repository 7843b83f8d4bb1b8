"""The consent ledger in its own SQLite file, apart from the access log (개인정보 보호법 제21조③)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from cookiegate.records.chain import seal
from cookiegate.records.types import LEDGER_COLUMNS, LEDGER_EVIDENCE, LedgerEvent
from cookiegate.stores import sqlite_files as files
from cookiegate.stores.protocols import LedgerStats

#: 3: guardian verification and policy SHA-256 columns (issue #10).
SCHEMA_VERSION: Final = 3
_COLUMNS: Final = ", ".join(LEDGER_COLUMNS)
#: The chain's head: its last event, or the retention anchor when a purge destroyed every event.
_HEAD: Final = (
    "SELECT * FROM (SELECT seq, hash FROM consent_events ORDER BY seq DESC LIMIT 1) UNION ALL"
    " SELECT * FROM (SELECT seq, hash FROM chain_anchor ORDER BY seq DESC LIMIT 1) ORDER BY 1 DESC LIMIT 1"
)
_INSERT: Final = f"INSERT INTO consent_events ({_COLUMNS}) VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})"


class SQLiteLedgerStore:
    """Append-only consent events in one hash chain; ``BEGIN IMMEDIATE`` makes every appender take turns."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        self.location = str(path)
        self._conn = files.connect(path, create=create, what="consent ledger")
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
                CREATE TABLE IF NOT EXISTS consent_events (
                    seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, consent_id TEXT NOT NULL,
                    policy_version TEXT NOT NULL, locale TEXT NOT NULL, granted TEXT NOT NULL,
                    method TEXT NOT NULL, under14 INTEGER NOT NULL, gpc INTEGER NOT NULL, minor INTEGER NOT NULL,
                    ip_prefix TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS consent_events_by_id ON consent_events (consent_id, seq);
                {files.SPOOL_PROGRESS_DDL};
                CREATE TABLE IF NOT EXISTS chain_anchor (
                    seq INTEGER NOT NULL, hash TEXT NOT NULL, at_ms INTEGER NOT NULL);
                """
            )
            present = {row[1] for row in self._conn.execute("PRAGMA table_info(consent_events)")}
            for column in LEDGER_EVIDENCE:
                if column not in present:
                    kind = "INTEGER" if column.endswith("_ms") else "TEXT"
                    self._conn.execute(f"ALTER TABLE consent_events ADD COLUMN {column} {kind}")
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._conn.execute("COMMIT")
        return SCHEMA_VERSION

    def append(self, events: Sequence[LedgerEvent], *, segment: str, offset: int) -> list[LedgerEvent]:
        """Chain ``events`` after the head under the file's write lock, so concurrent processes keep one chain."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                head = self._conn.execute(_HEAD).fetchone()
                seq, prev_hash = (0, "") if head is None else (int(head[0]), str(head[1]))
                sealed: list[LedgerEvent] = []
                for event in events:
                    seq += 1
                    placed = seal(event, seq, prev_hash)
                    prev_hash = placed.hash
                    sealed.append(placed)
                self._conn.executemany(_INSERT, sealed)
                self._conn.execute(files.SPOOL_PROGRESS_UPSERT, (segment, offset))
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        return sealed

    def spool_offset(self, segment: str) -> int:
        with self._lock:
            return files.spool_offset(self._conn, segment)

    def forget_segment(self, segment: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM spool_progress WHERE segment = ?", (segment,))

    def history(self, consent_id: str) -> list[LedgerEvent]:
        with self._lock:
            cursor = self._conn.execute(
                f"SELECT {_COLUMNS} FROM consent_events WHERE consent_id = ? ORDER BY seq", (consent_id,)
            )
            return [LedgerEvent._make(row) for row in cursor]

    def rows(self) -> Iterator[LedgerEvent]:
        reader = files.read_only(self.path)
        try:
            for row in reader.execute(f"SELECT {_COLUMNS} FROM consent_events ORDER BY seq"):
                yield LedgerEvent._make(row)
        finally:
            reader.close()

    def stats(self) -> LedgerStats:
        with self._lock:
            count = int(self._conn.execute("SELECT count(*) FROM consent_events").fetchone()[0])
            head = self._conn.execute(_HEAD).fetchone()
        return LedgerStats(count, 0 if head is None else int(head[0]), "" if head is None else str(head[1]))

    def anchor(self) -> tuple[int, str] | None:
        """The last event destroyed by retention (the chain continues from its hash), or None."""
        with self._lock:
            row = self._conn.execute("SELECT seq, hash FROM chain_anchor ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def purge_through(self, seq: int, *, now_ms: int) -> int:
        """Destroy events 1..``seq`` (제21조; ``secure_delete`` overwrites them), keeping the hash they end on."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute("SELECT hash FROM consent_events WHERE seq = ?", (seq,)).fetchone()
                if row is None:
                    self._conn.execute("ROLLBACK")
                    return 0
                anchor = (seq, row[0], now_ms)
                self._conn.execute("INSERT INTO chain_anchor (seq, hash, at_ms) VALUES (?, ?, ?)", anchor)
                removed = self._conn.execute("DELETE FROM consent_events WHERE seq <= ?", (seq,)).rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(removed)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

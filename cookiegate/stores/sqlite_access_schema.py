"""The access log file's schema: the tables of the newest version, and the upgrade of an older file.

Kept apart from the store (``sqlite_access.py``), which only reads and writes rows: a file is upgraded once,
on open, inside the store's own write transaction, and what the old versions looked like matters nowhere else.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from cookiegate.records.types import ACCESS_COLUMNS, AccessRecord
from cookiegate.stores import sqlite_files as files
from cookiegate.stores.access_rows import ROW_COLUMNS, row_of_record
from cookiegate.stores.sqlite_insert import insert_rows

#: 2: the statutory record set only (consent state, User-Agent and blocked cookies moved out) plus ``outcome``.
#: 3: a row is the time, the client address (or its lookup tag) and the spooled record (``access_rows.py``).
SCHEMA_VERSION: Final = 3
#: The columns of every day table and of ``access_held``.
ACCESS_DDL: Final = "ts_ms INTEGER NOT NULL, client_ip TEXT, client TEXT NOT NULL, record TEXT NOT NULL"
_V2_COLUMNS: Final = ", ".join(ACCESS_COLUMNS)
#: Columns of schema 1 that are not part of the statutory record set (issue #10: kept apart, used for nothing else).
_V1_EXTRA: Final = ("user_agent", "ua_family", "ua_os", "ua_device", "ua_bot", "granted", "gpc", "under14",
                    "minor", "policy_version")  # fmt: skip
_TABLES: Final = f"""
    CREATE TABLE IF NOT EXISTS partitions (
        day TEXT PRIMARY KEY, name TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL);
    {files.SPOOL_PROGRESS_DDL};
    CREATE TABLE IF NOT EXISTS legal_holds (
        id INTEGER PRIMARY KEY, ip TEXT NOT NULL, from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL,
        reason TEXT NOT NULL, created_ms INTEGER NOT NULL, released_ms INTEGER);
    CREATE TABLE IF NOT EXISTS access_held ({ACCESS_DDL});
    CREATE TABLE IF NOT EXISTS disclosures (
        id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, agency TEXT NOT NULL, permit TEXT NOT NULL,
        from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL, ip TEXT, records INTEGER NOT NULL,
        out_file TEXT NOT NULL, sha256 TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS purge_audit (
        id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, cutoff_ms INTEGER NOT NULL,
        removed INTEGER NOT NULL, kept_by_hold INTEGER NOT NULL, oldest_ms INTEGER,
        newest_ms INTEGER, partitions INTEGER NOT NULL)
"""


def upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring a file of schema ``version`` (0: new) to ``SCHEMA_VERSION``, in the caller's open transaction."""
    for statement in _TABLES.split(";"):
        # One by one: ``executescript`` would commit the transaction it runs in.
        if statement.strip():
            conn.execute(statement)
    if version == 1:
        _from_v1(conn)
    if version in (1, 2):
        _from_v2(conn)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _access_tables(conn: sqlite3.Connection) -> list[str]:
    return ["access_held", *(r[0] for r in conn.execute("SELECT name FROM partitions"))]


def _from_v1(conn: sqlite3.Connection) -> None:
    """Schema 1 kept consent state, User-Agents and blocked cookies in the log: drop them, add ``outcome``."""
    for table in _access_tables(conn):
        present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for column in _V1_EXTRA:
            if column in present:
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        if "outcome" not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN outcome TEXT")
    conn.execute("DROP TABLE IF EXISTS blocked_cookies")


def _from_v2(conn: sqlite3.Connection) -> None:
    """Schema 2 kept each field in a column: rewrite every table as rows of schema 3."""
    for table in _access_tables(conn):
        present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if "record" in present:
            continue
        conn.execute(f"CREATE TABLE {table}_v3 ({ACCESS_DDL})")
        rows = (row_of_record(AccessRecord._make(r)) for r in conn.execute(f"SELECT {_V2_COLUMNS} FROM {table}"))
        insert_rows(conn, f"{table}_v3", ROW_COLUMNS, list(rows))
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {table}_v3 RENAME TO {table}")

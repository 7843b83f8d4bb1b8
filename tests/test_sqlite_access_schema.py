"""Upgrading an access log file of an older schema: the store opens it and reads back the same records."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cookiegate.records.types import ACCESS_COLUMNS
from cookiegate.stores.sqlite_access import SQLiteAccessStore
from cookiegate.stores.sqlite_access_schema import SCHEMA_VERSION
from tests.store_support import PROXIED_RECORD

#: What schema 1 kept beside the statutory record, and lost on the way to schema 2 (issue #10).
V1_EXTRA_VALUES = {"user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "ua_family": "Firefox", "ua_os": "Linux",
                   "ua_device": "Other", "ua_bot": 0, "granted": "necessary,targeting", "gpc": 1, "under14": 0,
                   "minor": 0, "policy_version": "v1"}  # fmt: skip


def _partitions(conn: sqlite3.Connection, columns: str) -> None:
    conn.executescript(f"""
        CREATE TABLE partitions (day TEXT PRIMARY KEY, name TEXT NOT NULL, start_ms INTEGER NOT NULL,
                                 end_ms INTEGER NOT NULL);
        CREATE TABLE access_20251009 ({columns});
        CREATE TABLE access_held ({columns});
        INSERT INTO partitions VALUES ('2025-10-09', 'access_20251009', 1759935600000, 1760022000000);
    """)


def test_a_schema_1_file_loses_what_is_not_the_statutory_record_and_keeps_every_record(tmp_path: Path) -> None:
    db = tmp_path / "access.db"
    conn = sqlite3.connect(db)
    v1_columns = [c for c in ACCESS_COLUMNS if c != "outcome"] + list(V1_EXTRA_VALUES)
    _partitions(conn, ", ".join(v1_columns))
    conn.execute("CREATE TABLE blocked_cookies (name TEXT, path TEXT, count INTEGER)")
    conn.execute("PRAGMA user_version = 1")
    placeholders = ", ".join("?" * len(v1_columns))
    for table, record in (("access_20251009", PROXIED_RECORD), ("access_held", PROXIED_RECORD._replace(path="/held"))):
        values = {**record._asdict(), **V1_EXTRA_VALUES}
        conn.execute(f"INSERT INTO {table} VALUES ({placeholders})", [values[c] for c in v1_columns])
    conn.commit()
    conn.close()

    store = SQLiteAccessStore(db)
    try:
        # Schema 1 never recorded how a request ended: it stays unknown (None), not a guess; the rest as stored.
        assert list(store.records(0, 2**62)) == [
            PROXIED_RECORD._replace(path="/held", outcome=None),
            PROXIED_RECORD._replace(outcome=None),
        ]
    finally:
        store.close()
    upgraded = sqlite3.connect(db)
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert upgraded.execute("SELECT name FROM sqlite_master WHERE name = 'blocked_cookies'").fetchone() is None
    stored = " ".join(
        str(row) for table in ("access_20251009", "access_held") for row in upgraded.execute(f"SELECT * FROM {table}")
    )
    assert "Mozilla" not in stored and "targeting" not in stored and "Firefox" not in stored


def test_a_schema_2_store_is_upgraded_and_reads_back_the_same_records(tmp_path: Path) -> None:
    db = tmp_path / "access.db"
    conn = sqlite3.connect(db)
    _partitions(conn, ", ".join(ACCESS_COLUMNS))
    conn.execute("PRAGMA user_version = 2")
    conn.execute(f"INSERT INTO access_20251009 VALUES ({', '.join('?' * len(ACCESS_COLUMNS))})", PROXIED_RECORD)
    conn.execute(
        f"INSERT INTO access_held VALUES ({', '.join('?' * len(ACCESS_COLUMNS))})",
        PROXIED_RECORD._replace(path="/held"),
    )
    conn.commit()
    conn.close()
    store = SQLiteAccessStore(db)
    try:
        assert list(store.records(0, 2**62)) == [PROXIED_RECORD._replace(path="/held"), PROXIED_RECORD]
        assert store.count(0, 2**62, "198.51.100.7") == 2
        store.ingest([PROXIED_RECORD._replace(path="/new", ts_ms=PROXIED_RECORD.ts_ms + 1)], segment="s", offset=1)
        assert [r.path for r in store.records(0, 2**62, "198.51.100.0/24")] == ["/held", "/cart", "/new"]
    finally:
        store.close()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

"""What the SQLite stores share: opening a file (or refusing to invent one) and the address matcher.

WAL with ``synchronous=NORMAL`` survives a killed process (the spool covers the rest); ``secure_delete``
makes SQLite overwrite freed pages, so purged records are not left readable (개인정보 보호법 제21조).
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Final

from cookiegate.stores.protocols import StoreMissingError

#: How long a statement waits for another connection's lock before failing; the ingester retries with
#: backoff, so a short wait keeps it responsive to stop requests while a backup holds the file.
BUSY_TIMEOUT_MS: Final = 2000


def connect(path: Path, *, create: bool, what: str) -> sqlite3.Connection:
    """A WAL connection to ``path``; a missing file is created 0600 in a 0700 folder only with ``create``.

    SQLite creates the ``-wal`` and ``-shm`` files with the database file's permissions, so creating the
    database 0600 first covers all three (they hold personal data).
    """
    if not path.exists():
        if not create:
            raise StoreMissingError(
                f"no {what} at {path}: check --data-dir or the store URL "
                "(`cookiegate migrate` creates a new store on purpose)"
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA secure_delete=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection, so a long export or verify never holds the writer's lock."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.create_function("ip_matches", 2, ip_matches, deterministic=True)
    return conn


def check_schema(conn: sqlite3.Connection, path: Path, newest: int) -> int:
    """The schema version in the file; refuses a file written by a newer cookiegate."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > newest:
        raise RuntimeError(f"{path} has schema {version}, newer than this cookiegate ({newest}); upgrade cookiegate")
    return version


def db_files(path: Path) -> list[Path]:
    """The database file and its WAL companions that exist."""
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def size_on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in db_files(path))


@lru_cache(maxsize=256)
def network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``text`` as a network (an address is a /32 or /128); raises ``ValueError`` for anything else."""
    return ipaddress.ip_network(text, strict=False)


def ip_matches(address: str | None, selector: str) -> bool:
    """Whether ``address`` is ``selector`` (an address) or inside it (a CIDR); used by holds and exports."""
    if address is None:
        return False
    if "/" not in selector:
        return address == selector
    try:
        return ipaddress.ip_address(address) in network(selector)
    except ValueError:
        return False


SPOOL_PROGRESS_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS spool_progress (segment TEXT PRIMARY KEY, offset INTEGER NOT NULL)"
)
SPOOL_PROGRESS_UPSERT: Final = (
    "INSERT INTO spool_progress (segment, offset) VALUES (?, ?) "
    "ON CONFLICT (segment) DO UPDATE SET offset = excluded.offset"
)


def spool_offset(conn: sqlite3.Connection, segment: str) -> int:
    row = conn.execute("SELECT offset FROM spool_progress WHERE segment = ?", (segment,)).fetchone()
    return 0 if row is None else int(row[0])

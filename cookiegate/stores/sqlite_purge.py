"""The SQLite access log's purge: drop whole Seoul-day tables past the cutoff, held records copied aside first."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Final

from cookiegate.stores.access_rows import ROW_COLUMNS
from cookiegate.stores.protocols import PurgeResult
from cookiegate.stores.sqlite_files import ip_matches

#: Disclosure ledger entries are kept 7 years (통신비밀보호법 제13조⑦, 시행령 제37조).
SEVEN_YEARS_MS: Final = 7 * 366 * 86_400_000
_COLUMNS: Final = ", ".join(ROW_COLUMNS)

Hold = tuple[str, int, int]


def purge_partitions(
    conn: sqlite3.Connection, partitions: dict[date, tuple[str, int, int]], cutoff_ms: int, *, now_ms: int
) -> PurgeResult:
    """Inside the caller's transaction: drop or trim day tables before ``cutoff_ms``, audit it, age disclosures.

    Rows an active hold covers are copied to ``access_held`` and stay until their hold is released and they are
    past the cutoff; then they are deleted (zeroed by ``secure_delete``) like the rest.
    """
    holds: list[Hold] = list(conn.execute("SELECT ip, from_ms, to_ms FROM legal_holds WHERE released_ms IS NULL"))
    removed = kept = dropped = 0
    span: list[int] = []
    for day in sorted(partitions):
        name, start, end = partitions[day]
        if start >= cutoff_ms:
            break
        whole = end <= cutoff_ms
        bound = end if whole else cutoff_ms
        count, low, high = conn.execute(
            f"SELECT count(*), min(ts_ms), max(ts_ms) FROM {name} WHERE ts_ms < ?", (bound,)
        ).fetchone()
        held = _copy_held(conn, name, holds, start, bound)
        if whole and conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == count:
            conn.execute(f"DROP TABLE {name}")
            conn.execute("DELETE FROM partitions WHERE day = ?", (day.isoformat(),))
            dropped += 1
        else:  # part of today, or rows stamped past the day's end (clock jump): keep those
            conn.execute(f"DELETE FROM {name} WHERE ts_ms < ?", (bound,))
        removed += count - held
        kept += held
        if count:
            span += (low, high)
    released, stamps = _release_expired_held(conn, cutoff_ms, holds)
    removed += released
    span += stamps
    result = PurgeResult(cutoff_ms, removed, kept, min(span, default=None), max(span, default=None), dropped)
    conn.execute(
        "INSERT INTO purge_audit (at_ms, cutoff_ms, removed, kept_by_hold, oldest_ms, newest_ms, partitions)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (now_ms, cutoff_ms, removed, kept, result.oldest_removed_ms, result.newest_removed_ms, dropped),
    )
    conn.execute("DELETE FROM disclosures WHERE at_ms < ?", (now_ms - SEVEN_YEARS_MS,))
    return result


def _copy_held(conn: sqlite3.Connection, name: str, holds: list[Hold], start: int, bound: int) -> int:
    """Copy rows of ``name`` before ``bound`` that an active hold covers into ``access_held`` (once each)."""
    covering = [(ip, max(start, low), min(bound, high)) for ip, low, high in holds]
    covering = [(ip, low, high) for ip, low, high in covering if low < high]
    if not covering:
        return 0
    condition = " OR ".join("(ts_ms >= ? AND ts_ms < ? AND ip_matches(client_ip, ?))" for _ in covering)
    args = [value for ip, low, high in covering for value in (low, high, ip)]
    cursor = conn.execute(f"INSERT INTO access_held ({_COLUMNS}) SELECT {_COLUMNS} FROM {name} WHERE {condition}", args)
    return cursor.rowcount


def _release_expired_held(conn: sqlite3.Connection, cutoff_ms: int, holds: list[Hold]) -> tuple[int, list[int]]:
    """Delete held rows past the cutoff that no active hold covers any more."""
    doomed = [
        (rowid, ts)
        for rowid, ts, ip in conn.execute(
            "SELECT rowid, ts_ms, client_ip FROM access_held WHERE ts_ms < ?", (cutoff_ms,)
        )
        if not any(start <= ts < end and ip_matches(ip, sel) for sel, start, end in holds)
    ]
    if not doomed:
        return 0, []
    conn.executemany("DELETE FROM access_held WHERE rowid = ?", [(rowid,) for rowid, _ in doomed])
    stamps = [ts for _, ts in doomed]
    return len(doomed), [min(stamps), max(stamps)]

"""Which Seoul-day partitions of the PostgreSQL access log exist, creating the missing ones, per-day tallies.

The server decides the day bounds (``ensure_days`` uses its Asia/Seoul time zone data); this side only
caches the ranges it was told, so nearly every batch (one day) costs two bisections and no round trip.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Final

from cookiegate.stores.postgres_schema import ACCESS_SCHEMA as S
from cookiegate.stores.postgres_schema import DAYS_AHEAD, as_int

if TYPE_CHECKING:
    import psycopg

DAY_MS: Final = 86_400_000
#: Each ingest adds its rows to its days' tallies in the same transaction, so a purge and a report never scan.
TALLY: Final = (
    f"UPDATE {S}.partitions SET rows = rows + %s, oldest_ms = LEAST(oldest_ms, %s), newest_ms = GREATEST(newest_ms, %s)"
    " WHERE start_ms = %s"
)


class DayPartitions:
    """The ``[start_ms, end_ms)`` of every known day partition, sorted."""

    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []

    def load(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        rows = conn.execute(f"SELECT start_ms, end_ms FROM {S}.partitions ORDER BY start_ms").fetchall()
        self._ranges = [(as_int(a), as_int(b)) for a, b in rows]

    def forget(self) -> None:
        """Ask the server again next time (a purge elsewhere may have dropped a day we knew)."""
        self._ranges = []

    def _index(self, stamp: int) -> int:
        return bisect_right(self._ranges, (stamp, 2**63)) - 1

    def _covered(self, stamp: int) -> bool:
        i = self._index(stamp)
        return i >= 0 and self._ranges[i][0] <= stamp < self._ranges[i][1]

    def ensure(self, conn: psycopg.Connection[tuple[object, ...]], stamps: list[int]) -> None:
        """Create the days ``stamps`` fall on, and the week after the last, unless they are known."""
        low, high = min(stamps), max(stamps)
        if self._covered(low) and high < self._ranges[self._index(low)][1]:
            return
        missing = sorted({s for s in stamps if not self._covered(s)})
        if not missing:
            return
        ahead = [missing[-1] + k * DAY_MS for k in range(1, DAYS_AHEAD + 1)]
        conn.execute(f"SELECT {S}.ensure_days(%s)", (missing + ahead,))
        self.load(conn)

    def tally(self, stamps: list[int]) -> list[tuple[int, int, int, int]]:
        """(rows, oldest, newest, day start) per day of ``stamps``, in day order (one lock order: no deadlock)."""
        low, high = min(stamps), max(stamps)
        i = self._index(low)
        if high < self._ranges[i][1]:
            return [(len(stamps), low, high, self._ranges[i][0])]
        days: dict[int, list[int]] = {}
        for stamp in stamps:
            day = days.setdefault(self._ranges[self._index(stamp)][0], [0, stamp, stamp])
            day[0] += 1
            day[1] = min(day[1], stamp)
            day[2] = max(day[2], stamp)
        return [(n, lo, hi, start) for start, (n, lo, hi) in sorted(days.items())]

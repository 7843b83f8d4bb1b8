"""Report counters (blocked cookies) in PostgreSQL: the ``cookiegate_aggregates`` schema, apart from the log.

Issue #10 item 2: what ``report`` analyses is kept apart from the statutory access log (개인정보 보호법 제21조③),
in its own schema with its own grants. With several instances behind a load balancer every ingester adds to
the same counters, so ``report`` sees the whole site rather than one machine's share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from cookiegate.stores import postgres_schema as schema
from cookiegate.stores.postgres_link import PostgresLink
from cookiegate.stores.postgres_schema import as_int

S: Final = schema.AGGREGATES_SCHEMA
_ADD: Final = (
    f"INSERT INTO {S}.blocked_cookies AS b (direction, name, path, count, first_ms, last_ms)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (direction, name, path)"
    " DO UPDATE SET count = b.count + excluded.count, last_ms = excluded.last_ms"
)


class PostgresAggregatesStore:
    """Blocked-cookie counters per (direction, name, path); one connection, reconnecting after a restart."""

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.url = url
        self.link = PostgresLink(url, "aggregates store")
        self.location = self.link.location
        self.link.open(S, (schema.AGGREGATES_DDL,), create=create)

    def close(self) -> None:
        self.link.close()

    def migrate(self) -> int:
        return self.link.migrate(S, (schema.AGGREGATES_DDL,))

    def add_blocked_cookies(
        self, counts: Mapping[tuple[str, str, str], int], *, now_ms: int, segment: str, offset: int
    ) -> None:
        """Add the counts and advance ``segment`` in one transaction; a batch already counted is skipped."""
        with self.link.connection() as conn, conn.transaction():
            done = conn.execute(
                f'SELECT "offset" FROM {S}.spool_progress WHERE segment = %s FOR UPDATE', (segment,)
            ).fetchone()
            if done is not None and as_int(done[0]) >= offset:
                return
            # Sorted: two ingesters adding the same keys lock the rows in the same order (no deadlock).
            rows = [(d, n, p, c, now_ms, now_ms) for (d, n, p), c in sorted(counts.items())]
            if rows:
                conn.cursor().executemany(_ADD, rows)
            conn.execute(
                f'INSERT INTO {S}.spool_progress (segment, "offset") VALUES (%s, %s) '
                'ON CONFLICT (segment) DO UPDATE SET "offset" = excluded."offset"',
                (segment, offset),
            )

    def blocked_cookies(self) -> list[tuple[str, str, str, int]]:
        rows = self.link.all(f"SELECT direction, name, path, count FROM {S}.blocked_cookies ORDER BY count DESC, name")
        return [(str(d), str(n), str(p), as_int(c)) for d, n, p, c in rows]

    def spool_offset(self, segment: str) -> int:
        row = self.link.one(f'SELECT "offset" FROM {S}.spool_progress WHERE segment = %s', (segment,))
        return 0 if row is None else as_int(row[0])

    def forget_segment(self, segment: str) -> None:
        self.link.one(f"DELETE FROM {S}.spool_progress WHERE segment = %s RETURNING 1", (segment,))

    def roles_sql(self, ingest: str = schema.INGEST_ROLE, disclosure: str = schema.DISCLOSURE_ROLE) -> str:
        return schema.aggregates_roles_sql(ingest, disclosure)

"""The consent ledger in PostgreSQL: one hash chain in the ``cookiegate_ledger`` schema, however many ingesters.

Every append takes a transaction-level advisory lock before it reads the chain's head, so appenders on any
number of machines take turns: each sealed event follows the head the previous transaction committed (no
forks), and ``seq`` is assigned under the lock rather than from a sequence (a rolled-back transaction leaves
no gap). The spool offset commits with the events, so a batch retried after a lost connection is not doubled.
Ledger retention (``cookiegate ledger-purge``, 개인정보 보호법 제21조) destroys a prefix of the chain under the
same lock and keeps the hash it ended on in ``chain_anchor``: the next append and ``verify`` continue from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from cookiegate.records.chain import seal
from cookiegate.records.types import LEDGER_COLUMNS, LedgerEvent
from cookiegate.stores import postgres_schema as schema
from cookiegate.stores.postgres_link import PostgresLink
from cookiegate.stores.postgres_schema import as_int
from cookiegate.stores.protocols import LedgerStats

S: Final = schema.LEDGER_SCHEMA
_COLUMNS: Final = ", ".join(LEDGER_COLUMNS)
_INSERT: Final = f"INSERT INTO {S}.consent_events ({_COLUMNS}) VALUES ({', '.join(['%s'] * len(LEDGER_COLUMNS))})"
_LAST_ANCHOR: Final = f"SELECT seq, hash FROM {S}.chain_anchor ORDER BY seq DESC LIMIT 1"
#: The chain's head: its last event, or the retention anchor when a purge destroyed every event.
_HEAD: Final = (
    f"SELECT seq, hash FROM ((SELECT seq, hash FROM {S}.consent_events ORDER BY seq DESC LIMIT 1)"
    f" UNION ALL ({_LAST_ANCHOR})) AS head ORDER BY seq DESC LIMIT 1"
)
#: The advisory lock key every appender takes; derived in SQL so psql sessions can take the same one.
_CHAIN_LOCK: Final = f"SELECT pg_advisory_xact_lock(hashtext('{S}.chain'))"


class PostgresLedgerStore:
    """Append-only consent events; one connection per store, reconnecting after a server restart."""

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.url = url
        self.link = PostgresLink(url, "consent ledger")
        self.location = self.link.location
        self.link.open(S, (schema.LEDGER_DDL,), create=create)

    def close(self) -> None:
        self.link.close()

    def migrate(self) -> int:
        return self.link.migrate(S, (schema.LEDGER_DDL,))

    def roles_sql(self, ingest: str = schema.INGEST_ROLE, disclosure: str = schema.DISCLOSURE_ROLE) -> str:
        return schema.ledger_roles_sql(ingest, disclosure)

    def append(self, events: Sequence[LedgerEvent], *, segment: str, offset: int) -> list[LedgerEvent]:
        """Seal ``events`` after the head under the chain lock, insert them and the offset, in one transaction.

        Returns the sealed events; an empty list when ``segment`` already reached ``offset`` (the batch was
        committed before the connection was lost, and is not appended twice).
        """
        with self.link.connection() as conn, conn.transaction():
            conn.execute(_CHAIN_LOCK)
            done = conn.execute(f'SELECT "offset" FROM {S}.spool_progress WHERE segment = %s', (segment,)).fetchone()
            if done is not None and as_int(done[0]) >= offset:
                return []
            head = conn.execute(_HEAD).fetchone()
            seq, prev_hash = (0, "") if head is None else (as_int(head[0]), str(head[1]))
            sealed: list[LedgerEvent] = []
            for event in events:
                seq += 1
                placed = seal(event, seq, prev_hash)
                prev_hash = placed.hash
                sealed.append(placed)
            if sealed:
                conn.cursor().executemany(_INSERT, sealed)
            conn.execute(
                f'INSERT INTO {S}.spool_progress (segment, "offset") VALUES (%s, %s) '
                'ON CONFLICT (segment) DO UPDATE SET "offset" = excluded."offset"',
                (segment, offset),
            )
        return sealed

    def spool_offset(self, segment: str) -> int:
        rows = self.link.all(f'SELECT "offset" FROM {S}.spool_progress WHERE segment = %s', (segment,))
        return as_int(rows[0][0]) if rows else 0

    def forget_segment(self, segment: str) -> None:
        self.link.all(f"DELETE FROM {S}.spool_progress WHERE segment = %s RETURNING 1", (segment,))

    def history(self, consent_id: str) -> list[LedgerEvent]:
        rows = self.link.all(f"SELECT {_COLUMNS} FROM {S}.consent_events WHERE consent_id = %s ORDER BY seq",
                           (consent_id,))  # fmt: skip
        return [LedgerEvent._make(row) for row in rows]

    def rows(self) -> Iterator[LedgerEvent]:
        """Streams the chain through a server-side cursor on its own connection (``verify`` reads it all)."""
        with (
            schema.connect(self.url) as reader,
            reader.transaction(),
            reader.cursor(name="cookiegate_verify") as cursor,
        ):
            cursor.execute(f"SELECT {_COLUMNS} FROM {S}.consent_events ORDER BY seq")
            for row in cursor:
                yield LedgerEvent._make(row)

    def stats(self) -> LedgerStats:
        count = self.link.all(f"SELECT count(*) FROM {S}.consent_events")
        head = self.link.all(_HEAD)
        return LedgerStats(as_int(count[0][0]), as_int(head[0][0]) if head else 0, str(head[0][1]) if head else "")

    def anchor(self) -> tuple[int, str] | None:
        """The last event destroyed by retention (the chain continues from its hash), or None."""
        row = self.link.one(_LAST_ANCHOR)
        return None if row is None else (as_int(row[0]), str(row[1]))

    def purge_through(self, seq: int, *, now_ms: int) -> int:
        """Destroy events 1..``seq`` (제21조) under the chain lock, keeping the hash they end on as the anchor.

        ``DELETE`` leaves the rows' bytes until ``VACUUM`` reuses the space (PostgreSQL does not overwrite
        them, unlike SQLite's ``secure_delete``), so the irreversibility also rests on the volume's encryption.
        """
        with self.link.connection() as conn:
            with conn.transaction():
                conn.execute(_CHAIN_LOCK)
                row = conn.execute(f"SELECT hash FROM {S}.consent_events WHERE seq = %s", (seq,)).fetchone()
                if row is None:
                    return 0
                conn.execute(f"INSERT INTO {S}.chain_anchor (seq, hash, at_ms) VALUES (%s, %s, %s)",
                             (seq, str(row[0]), now_ms))  # fmt: skip
                removed = conn.execute(f"DELETE FROM {S}.consent_events WHERE seq <= %s", (seq,)).rowcount
            conn.execute(f"VACUUM {S}.consent_events")  # marks the destroyed rows' space for reuse at once
        return removed

"""What every store backend implements: the statutory access log, the consent ledger, the report aggregates.

The three are always separate stores (files, or schemas with their own roles), because 개인정보 보호법 제21조③
wants data kept under a legal duty stored apart and used for nothing else (issue #10, item 2). Only the ingest
process writes them, in batches read from the local spool; the batch and the spool offset it reached commit in
ONE transaction, so an ingester killed anywhere re-reads the spool without losing or doubling a record.
Every backend opens with ``create=False`` by default and then raises ``StoreMissingError`` naming the path or
URL when the store does not exist (``migrate``, ``demo`` and the gate's own ingester pass ``create=True``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cookiegate.records.types import AccessRecord, LedgerEvent
from cookiegate.stores.access_rows import AccessRow


class StoreMissingError(LookupError):
    """The store a path or URL names does not exist (a typo must not create an empty log and report success)."""


class StoreUnavailableError(RuntimeError):
    """The store exists but cannot be reached now (locked, down, unreadable); the caller retries or answers 503."""


@dataclass(frozen=True, slots=True)
class LegalHold:
    """Records of ``ip`` (an address or a CIDR) between two instants are kept past the cutoff until released."""

    id: int
    ip: str
    from_ms: int
    to_ms: int
    reason: str
    created_ms: int
    released_ms: int | None = None


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What one purge removed: counts and a date range only (the audit line must not repeat the data)."""

    cutoff_ms: int
    removed: int
    kept_by_hold: int
    oldest_removed_ms: int | None
    newest_removed_ms: int | None
    partitions_dropped: int


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One lawful disclosure (통신비밀보호법 제13조): who asked, under which permit, for what, and how much."""

    at_ms: int
    agency: str
    permit: str
    from_ms: int
    to_ms: int
    ip: str | None
    records: int
    out_file: str
    sha256: str


@dataclass(frozen=True, slots=True)
class AccessStats:
    """The access log's size and age, for ``doctor`` and ``report`` (never its content)."""

    records: int
    oldest_ms: int | None
    newest_ms: int | None
    partitions: int
    size_bytes: int | None


@dataclass(frozen=True, slots=True)
class LedgerStats:
    """The ledger's length and head, for ``doctor`` and ``report``."""

    events: int
    head_seq: int
    head_hash: str


class SpoolProgress(Protocol):
    """How far each spool segment has been ingested; kept in the store so it commits with the rows."""

    location: str
    """The path or the URL without its password, for messages."""

    def spool_offset(self, segment: str) -> int:
        """How far ``segment`` has been ingested (0 if never seen)."""

    def forget_segment(self, segment: str) -> None:
        """Drop the note of a segment that has been fully ingested and deleted."""

    def migrate(self) -> int:
        """Create or upgrade the schema; returns the schema version now in the store."""

    def close(self) -> None: ...


class AccessStore(SpoolProgress, Protocol):
    """The statutory access log (통신비밀보호법 시행령 제41조): kept at least 3 months, then destroyed."""

    def ingest(self, records: Sequence[AccessRecord], *, segment: str, offset: int) -> None:
        """Store ``records`` and note ``segment`` ingested up to ``offset``, in one transaction."""

    def ingest_rows(self, rows: Sequence[AccessRow], *, segment: str, offset: int) -> None:
        """``ingest`` of rows as the ingester builds them from the spool (``stores/access_rows.py``)."""

    def purge_before(self, cutoff_ms: int, *, now_ms: int) -> PurgeResult:
        """Irreversibly remove records older than ``cutoff_ms`` except those under an active legal hold.

        Held records are copied aside first; one purge audit line (counts and dates only) is written, and
        disclosure ledger entries older than 7 years are dropped.
        """

    def add_hold(self, ip: str, from_ms: int, to_ms: int, reason: str, *, now_ms: int) -> int:
        """Keep records of ``ip`` (address or CIDR) in ``[from_ms, to_ms)``; returns the hold's id."""

    def holds(self, *, include_released: bool = False) -> list[LegalHold]: ...

    def release_hold(self, hold_id: int, *, now_ms: int) -> bool: ...

    def count(self, from_ms: int, to_ms: int, ip: str | None = None) -> int: ...

    def records(self, from_ms: int, to_ms: int, ip: str | None = None) -> Iterator[AccessRecord]:
        """Records in ``[from_ms, to_ms)`` in time order (held copies included), optionally of one address/CIDR."""

    def add_disclosure(self, disclosure: Disclosure) -> None: ...

    def disclosures(self) -> list[Disclosure]: ...

    def audit_lines(self) -> list[dict[str, object]]:
        """Purge audit lines, oldest first: at_ms, cutoff_ms, removed, kept_by_hold, oldest/newest_ms, partitions."""

    def stats(self) -> AccessStats: ...


class LedgerStore(SpoolProgress, Protocol):
    """The consent ledger: append-only events in ONE hash chain, however many ingesters append at once."""

    def append(self, events: Sequence[LedgerEvent], *, segment: str, offset: int) -> list[LedgerEvent]:
        """Chain and store ``events`` and note ``segment`` ingested up to ``offset``, in one transaction.

        Under the store's write lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a transaction-level advisory lock
        or ``LOCK TABLE``) read the head, ``cookiegate.records.chain.seal`` each event after it, insert, commit.
        Returns the sealed events.
        """

    def history(self, consent_id: str) -> list[LedgerEvent]:
        """One visitor's events, oldest first."""

    def rows(self) -> Iterator[LedgerEvent]:
        """Every event in chain order (for ``verify``)."""

    def stats(self) -> LedgerStats: ...

    def anchor(self) -> tuple[int, str] | None:
        """The last event ledger retention destroyed, ``(seq, hash)``: the chain continues from it; or None."""

    def purge_through(self, seq: int, *, now_ms: int) -> int:
        """Destroy events 1..``seq`` under the write lock, keeping the anchor; returns how many (제21조)."""


class AggregatesStore(SpoolProgress, Protocol):
    """Counters for reports (blocked cookies), apart from the statutory log and with their own retention."""

    def add_blocked_cookies(
        self, counts: Mapping[tuple[str, str, str], int], *, now_ms: int, segment: str, offset: int
    ) -> None:
        """Add ``(direction, name, path) -> count`` and note the spool offset, in one transaction."""

    def blocked_cookies(self) -> list[tuple[str, str, str, int]]:
        """(direction, name, path, count), most blocked first."""

"""Where the access log and the consent ledger are kept: one small interface per store, chosen by URL.

The access log and the consent ledger are always two stores (two files, or two schemas), because
개인정보 보호법 제21조③ wants data kept under a legal duty stored apart from other personal data.
A backend implements the two protocols below; ``postgresql://`` gets its own module later.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

#: Column order of an access record in every store and in exports (``AccessRecord`` has the same fields).
ACCESS_COLUMNS: tuple[str, ...] = (
    "ts_ms", "client_ip", "client_port", "peer_ip", "forwarded_chain", "host", "method", "path", "status",
    "sent_bytes", "duration_us", "protocol", "user_agent", "ua_family", "ua_os", "ua_device", "ua_bot",
    "granted", "gpc", "under14", "minor", "policy_version",
)  # fmt: skip

#: Column order of a consent event (the hash covers all of them but ``hash``).
LEDGER_COLUMNS: tuple[str, ...] = (
    "seq", "at_ms", "consent_id", "policy_version", "locale", "granted", "method", "under14", "gpc", "minor",
    "ip_prefix", "prev_hash", "hash",
)  # fmt: skip


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


class AccessStore(Protocol):
    """The statutory access log: appended by one writer per process, purged per calendar day."""

    def ingest(self, rows: Sequence[tuple[object, ...]], *, segment: str, offset: int) -> None:
        """Store ``rows`` (``ACCESS_COLUMNS`` order) and note ``segment`` ingested up to ``offset``, atomically."""

    def spool_offset(self, segment: str) -> int:
        """How far ``segment`` of the spool has been ingested (0 if never seen)."""

    def forget_segment(self, segment: str) -> None:
        """Drop the progress note of a spool segment that has been fully ingested and deleted."""

    def purge_before(self, cutoff_ms: int, *, now_ms: int) -> PurgeResult:
        """Irreversibly remove records older than ``cutoff_ms`` except those under an active legal hold."""

    def add_hold(self, ip: str, from_ms: int, to_ms: int, reason: str, *, now_ms: int) -> int: ...

    def holds(self, *, include_released: bool = False) -> list[LegalHold]: ...

    def release_hold(self, hold_id: int, *, now_ms: int) -> bool: ...

    def count(self, from_ms: int, to_ms: int, ip: str | None = None) -> int: ...

    def records(self, from_ms: int, to_ms: int, ip: str | None = None) -> Iterator[tuple[object, ...]]:
        """Records in ``[from_ms, to_ms)`` in time order, optionally of one address or CIDR."""

    def add_disclosure(self, disclosure: Disclosure) -> None: ...

    def disclosures(self) -> list[Disclosure]: ...

    def add_blocked_cookies(self, counts: Mapping[tuple[str, str, str], int], *, now_ms: int) -> None: ...

    def blocked_cookies(self) -> list[tuple[str, str, str, int]]: ...

    def audit_lines(self) -> list[dict[str, object]]: ...

    def stats(self) -> dict[str, object]:
        """Record count, oldest record, request shares and size on disk, for ``cookiegate report``."""

    def migrate(self) -> int: ...

    def close(self) -> None: ...


class LedgerStore(Protocol):
    """The consent ledger: append-only events, each carrying the hash of the one before."""

    def append(self, event: Mapping[str, object], chain_hash: ChainHasher) -> dict[str, object]:
        """Append ``event``; ``chain_hash(prev_hash, row)`` computes the new row's hash inside the lock."""

    def history(self, consent_id: str) -> list[dict[str, object]]: ...

    def rows(self) -> Iterable[dict[str, object]]:
        """Every event in chain order (for ``verify`` and ``report``)."""

    def migrate(self) -> int: ...

    def close(self) -> None: ...


class ChainHasher(Protocol):
    def __call__(self, prev_hash: str, row: Mapping[str, object]) -> str: ...


def sqlite_path(url: str) -> Path:
    """The file a ``sqlite:///relative`` or ``sqlite:////absolute`` URL names."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path or parts.path == "/":
        raise ValueError(f"expected sqlite:///path/to/file.db, got {url!r}")
    return Path(unquote(parts.path[1:]))


def default_urls(data_dir: Path) -> tuple[str, str]:
    """The embedded default: ``access.db`` and ``ledger.db`` side by side in ``data_dir``."""
    return f"sqlite:///{data_dir / 'access.db'}", f"sqlite:///{data_dir / 'ledger.db'}"


def open_access_store(url: str) -> AccessStore:
    """The access log store a URL names; raises ``ValueError`` for a scheme not supported yet."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from cookiegate.stores.sqlite import SQLiteAccessStore

        return SQLiteAccessStore(sqlite_path(url))
    raise ValueError(f"unsupported access log store {scheme!r}; use sqlite:///path (PostgreSQL is coming)")


def open_ledger_store(url: str) -> LedgerStore:
    """The consent ledger store a URL names; raises ``ValueError`` for a scheme not supported yet."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from cookiegate.stores.sqlite import SQLiteLedgerStore

        return SQLiteLedgerStore(sqlite_path(url))
    raise ValueError(f"unsupported ledger store {scheme!r}; use sqlite:///path (PostgreSQL is coming)")

"""Where the access log, the consent ledger and the report aggregates are kept: chosen by URL.

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` → ``sqlite_*.py``; ``postgresql://…`` →
``postgres_*.py``. The protocols are in ``protocols.py``. Opening a store that does not exist raises
``StoreMissingError`` naming the path, unless ``create=True`` (``migrate``, ``demo``, the gate's own ingester).
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit, urlunsplit

from cookiegate.stores.protocols import (
    AccessStore,
    AggregatesStore,
    LedgerStore,
    StoreMissingError,
)

__all__ = [
    "AccessStore",
    "AggregatesStore",
    "LedgerStore",
    "StoreMissingError",
    "default_urls",
    "open_access_store",
    "open_aggregates_store",
    "open_ledger_store",
    "redact_url",
    "sqlite_path",
]


def sqlite_path(url: str) -> Path:
    """The file a ``sqlite:///relative`` or ``sqlite:////absolute`` URL names."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path or parts.path == "/":
        raise ValueError(f"expected sqlite:///path/to/file.db, got {url!r}")
    return Path(unquote(parts.path[1:]))


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and status files."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def default_urls(data_dir: Path) -> tuple[str, str, str]:
    """The embedded default: ``access.db``, ``ledger.db`` and ``aggregates.db`` side by side in ``data_dir``."""
    return (
        f"sqlite:///{data_dir / 'access.db'}",
        f"sqlite:///{data_dir / 'ledger.db'}",
        f"sqlite:///{data_dir / 'aggregates.db'}",
    )


def _unsupported(kind: str, url: str) -> ValueError:
    scheme = urlsplit(url).scheme
    return ValueError(
        f"unsupported {kind} store {scheme!r} in {redact_url(url)!r}; use sqlite:///path/file.db or postgresql://…"
    )


def open_access_store(url: str, *, create: bool = False) -> AccessStore:
    """The statutory access log store ``url`` names."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from cookiegate.stores.sqlite_access import SQLiteAccessStore

        return SQLiteAccessStore(sqlite_path(url), create=create)
    if scheme in ("postgresql", "postgres"):
        # Imported by name: psycopg is an optional dependency, loaded only for a postgresql:// URL.
        module = import_module("cookiegate.stores.postgres_access")
        return cast(AccessStore, module.PostgresAccessStore(url, create=create))
    raise _unsupported("access log", url)


def open_ledger_store(url: str, *, create: bool = False) -> LedgerStore:
    """The consent ledger store ``url`` names."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from cookiegate.stores.sqlite_ledger import SQLiteLedgerStore

        return SQLiteLedgerStore(sqlite_path(url), create=create)
    if scheme in ("postgresql", "postgres"):
        module = import_module("cookiegate.stores.postgres_ledger")
        return cast(LedgerStore, module.PostgresLedgerStore(url, create=create))
    raise _unsupported("consent ledger", url)


def open_aggregates_store(url: str, *, create: bool = False) -> AggregatesStore:
    """The report aggregates store ``url`` names: SQLite (one file per data dir) or PostgreSQL (the whole site)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from cookiegate.stores.sqlite_aggregates import SQLiteAggregatesStore

        return SQLiteAggregatesStore(sqlite_path(url), create=create)
    if scheme in ("postgresql", "postgres"):
        module = import_module("cookiegate.stores.postgres_aggregates")
        return cast(AggregatesStore, module.PostgresAggregatesStore(url, create=create))
    raise _unsupported("aggregates", url)

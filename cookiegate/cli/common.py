"""What the store commands share: the store options, opening stores, storing the spool before reading."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cookiegate.destruction import validate_grace_days
from cookiegate.records.ingest import IngestConfig, Ingester
from cookiegate.records.ingest_lock import take_lock
from cookiegate.records.retention import DEFAULT_RETENTION_MONTHS, validate_retention_months
from cookiegate.stores import (
    AccessStore,
    AggregatesStore,
    LedgerStore,
    StoreMissingError,
    default_urls,
    open_access_store,
    open_aggregates_store,
    open_ledger_store,
)
from cookiegate.stores.protocols import StoreUnavailableError

Clock = Callable[[], datetime]
Handler = Callable[[argparse.Namespace, Clock], int]


def store_options() -> argparse.ArgumentParser:
    """The options every store command takes (a parent parser)."""
    stores = argparse.ArgumentParser(add_help=False)
    stores.add_argument("--data-dir", type=Path, default=Path("./cookiegate-data"), help="default ./cookiegate-data")
    stores.add_argument("--access-log-url", help="e.g. sqlite:///var/lib/cookiegate/access.db or postgresql://…")
    stores.add_argument("--ledger-url", help="e.g. sqlite:///var/lib/cookiegate/ledger.db or postgresql://…")
    stores.add_argument("--aggregates-url", help="e.g. sqlite:///var/lib/cookiegate/aggregates.db or postgresql://…")
    stores.add_argument("--retention-months", type=retention_months, default=DEFAULT_RETENTION_MONTHS)
    return stores


def retention_months(text: str) -> int:
    try:
        return validate_retention_months(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def grace_days(text: str) -> int:
    """``--grace-days``: added to the statutory minimum, never taken from it (``destruction.py``)."""
    try:
        return validate_grace_days(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def urls(args: argparse.Namespace) -> tuple[str, str, str]:
    """(access log, ledger, aggregates) URLs: the explicit ones, else the data dir's files."""
    access, ledger, aggregates = default_urls(args.data_dir)
    return args.access_log_url or access, args.ledger_url or ledger, args.aggregates_url or aggregates


def ingest_config(args: argparse.Namespace, *, create: bool = False, access: bool = True) -> IngestConfig:
    access_url, ledger_url, aggregates_url = urls(args)
    return IngestConfig(
        data_dir=args.data_dir,
        access_url=access_url if access else None,
        ledger_url=ledger_url,
        aggregates_url=aggregates_url,
        retention_months=args.retention_months,
        create=create,
    )


def store_spool(args: argparse.Namespace) -> None:
    """Store what the spool holds, unless an ingester is running (it does that itself)."""
    if not args.data_dir.is_dir():
        return
    lock = take_lock(args.data_dir)
    if lock is None:
        return
    ingester = Ingester(ingest_config(args))
    try:
        ingester.drain()
    except StoreMissingError as exc:
        print(f"note: spooled records not stored yet: {exc}", file=sys.stderr)
    finally:
        ingester.close()
        os.close(lock)


def access_store(args: argparse.Namespace, *, drain: bool = True) -> AccessStore:
    store = open_access_store(urls(args)[0])
    if drain:
        store.close()
        store_spool(args)
        store = open_access_store(urls(args)[0])
    return store


def ledger_store(args: argparse.Namespace) -> LedgerStore:
    return open_ledger_store(urls(args)[1])


def aggregates_store(args: argparse.Namespace) -> AggregatesStore:
    return open_aggregates_store(urls(args)[2])


def store_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a store can raise at runtime (psycopg's only if it was loaded)."""
    errors: list[type[BaseException]] = [sqlite3.Error, OSError, StoreUnavailableError]
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        errors.append(psycopg.Error)
    return tuple(errors)

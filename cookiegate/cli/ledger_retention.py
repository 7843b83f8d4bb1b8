"""``cookiegate ledger-purge``: destroy consent events of policy versions superseded long enough ago (제21조)."""

from __future__ import annotations

import argparse

from cookiegate.cli.common import Clock, access_store, ledger_store, store_options
from cookiegate.clock import SEOUL, to_ms
from cookiegate.policy_archive import DEFAULT_LEDGER_RETENTION_YEARS, PolicyArchive
from cookiegate.records.ledger_retention import purge_expired


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    purge = commands.add_parser("ledger-purge", parents=[store_options()],
                                help="destroy consent events of versions superseded over --years ago")  # fmt: skip
    purge.add_argument("--years", type=int, default=DEFAULT_LEDGER_RETENTION_YEARS, help="default 3")
    purge.set_defaults(handler=_purge)


def _purge(args: argparse.Namespace, clock: Clock) -> int:
    archive = PolicyArchive(args.data_dir / "policy-archive")
    expired = archive.expired_versions(clock().astimezone(SEOUL).date(), args.years)
    access_store(args).close()  # stores what the spool holds first
    store = ledger_store(args)
    try:
        removed = purge_expired(store, expired, now_ms=to_ms(clock()))
    finally:
        store.close()
    print(f"ledger-purge: {removed} consent events of {expired or 'no'} expired version(s) destroyed")
    return 0

"""``cookiegate demo``, ``migrate`` and ``ingest``: running things and creating stores on purpose."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from dataclasses import replace
from types import FrameType

from cookiegate.cli.common import Clock, ingest_config, store_options, urls
from cookiegate.demo import command as demo_command
from cookiegate.records.ingest import Ingester
from cookiegate.records.ingest_lock import EXIT_LOCK_BUSY, LOCK_FILE, take_lock
from cookiegate.stores import open_access_store, open_aggregates_store, open_ledger_store


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo_command.register(commands)

    migrate = commands.add_parser("migrate", parents=[store_options()], help="create or upgrade the store schemas")
    migrate.add_argument("--roles", action="store_true", help="print the PostgreSQL roles and grants (see --apply)")
    migrate.add_argument("--apply", action="store_true", help="with --roles: migrate, then apply the grants")
    migrate.set_defaults(handler=_migrate)

    ingest = commands.add_parser(
        "ingest", parents=[store_options()],
        help="move the spool into the stores (sidecar / systemd; the gate starts one itself by default)",
    )  # fmt: skip
    ingest.add_argument("--create", action="store_true", help="create missing stores (the gate's own ingester)")
    ingest.add_argument("--no-access-log", action="store_true", help="the gate runs with access_log=False")
    ingest.add_argument("--once", action="store_true", help="store what is spooled now, then exit")
    ingest.add_argument("--interval", type=float, default=1.0, help="seconds between passes (default 1)")
    ingest.add_argument(
        "--nice", type=int, default=0, metavar="N",
        help="lower this process's CPU priority by N (the gate's own ingester runs at 10)",
    )  # fmt: skip
    ingest.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    ingest.set_defaults(handler=_ingest)


def _migrate(args: argparse.Namespace, clock: Clock) -> int:
    access_url, ledger_url, aggregates_url = urls(args)
    if args.roles and not args.apply:
        from cookiegate.cli.roles import roles_command

        return roles_command(access_url, ledger_url, apply=False, aggregates_url=aggregates_url)
    versions = []
    for opener, url in ((open_access_store, access_url), (open_ledger_store, ledger_url),
                        (open_aggregates_store, aggregates_url)):  # fmt: skip
        store = opener(url, create=True)
        try:
            versions.append(store.migrate())
        finally:
            store.close()
    print(f"access log schema {versions[0]}, consent ledger schema {versions[1]}, aggregates schema {versions[2]}")
    if args.roles:
        from cookiegate.cli.roles import roles_command

        return roles_command(access_url, ledger_url, apply=True, aggregates_url=aggregates_url)
    return 0


def _ingest(args: argparse.Namespace, clock: Clock) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s cookiegate-ingest[%(process)d] %(levelname)s %(message)s"
    )
    config = ingest_config(args, create=args.create, access=not args.no_access_log)
    config = replace(config, interval=args.interval)
    if not args.create and not args.data_dir.is_dir():
        print(f"cookiegate ingest: no data dir at {args.data_dir} (check --data-dir)", file=sys.stderr)
        return 2
    lock = take_lock(args.data_dir)
    if lock is None:
        print(f"cookiegate ingest: another ingester holds {args.data_dir / LOCK_FILE}", file=sys.stderr)
        return EXIT_LOCK_BUSY
    if args.nice > 0 and hasattr(os, "nice"):
        os.nice(args.nice)
    ingester = Ingester(config)
    try:
        if args.once:
            stored = ingester.drain()
            print(f"stored {stored} spooled records")
            return 0
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        # This process only ingests, and what start-up allocated (modules, settings) lives until it exits.
        # Frozen, the collector never walks it again: a full collection costs what recent passes allocated,
        # not the whole heap (that walk made ~1k instructions per stored record, callgrind).
        gc.freeze()
        ingester.run(stop, parent_pid=args.parent_pid)
        return 0
    finally:
        ingester.close()
        os.close(lock)

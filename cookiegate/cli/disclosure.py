"""``cookiegate export`` (lawful disclosure, 통신비밀보호법 제13조) and ``purge`` (개인정보 보호법 제21조)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from cookiegate.cli.common import Clock, access_store, grace_days, store_options
from cookiegate.cli.permits import permit_detail, permit_from, permit_options, refuse_inside_data_dir, sealer_for
from cookiegate.clock import from_ms, parse_moment
from cookiegate.destruction import DEFAULT_GRACE_DAYS
from cookiegate.records.disclosure import export_disclosure
from cookiegate.records.retention import purge
from cookiegate.records.staff_log import record_staff_read


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    purge_ = commands.add_parser(
        "purge", parents=[store_options()], help="destroy access records past the retention period (cron)"
    )
    purge_.add_argument("--grace-days", type=grace_days, default=DEFAULT_GRACE_DAYS,
                        help=f"days kept past the retention period (default {DEFAULT_GRACE_DAYS})")  # fmt: skip
    purge_.set_defaults(handler=_purge)

    export = commands.add_parser("export", parents=[store_options()], help="lawful disclosure against a court permit")
    export.add_argument("--from", dest="from_", metavar="FROM", required=True,
                        help="2025-03-01 or ISO datetime (Seoul if naive)")  # fmt: skip
    export.add_argument("--to", required=True, help="inclusive date, or exclusive ISO datetime")
    export.add_argument("--ip", help="one address or a CIDR")
    export.add_argument("--agency", default="", help="the requesting agency (required)")
    export.add_argument("--permit", default="", help="the court permit number (required)")
    export.add_argument("--out", type=Path, required=True, help="file.jsonl or file.csv (never overwritten)")
    export.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    permit_options(export)
    export.set_defaults(handler=_export)


def _purge(args: argparse.Namespace, clock: Clock) -> int:
    store = access_store(args)
    try:
        result = purge(store, months=args.retention_months, clock=clock, grace_days=args.grace_days)
    finally:
        store.close()
    print(orjson.dumps({
        "cutoff": from_ms(result.cutoff_ms).isoformat(), "removed": result.removed,
        "kept_by_hold": result.kept_by_hold, "partitions_dropped": result.partitions_dropped,
    }).decode())  # fmt: skip
    return 0


def _export(args: argparse.Namespace, clock: Clock) -> int:
    if not args.agency.strip() or not args.permit.strip():
        print(
            "cookiegate export: refused — a disclosure needs --agency and --permit (the court permit number); "
            "통신비밀보호법 제13조 allows disclosure of access records only against a permit",
            file=sys.stderr,
        )
        return 2
    if args.out.exists() and not args.force:
        print(f"cookiegate export: {args.out} exists; choose another --out or pass --force", file=sys.stderr)
        return 2
    try:
        scope = permit_from(args)
        scope.check(parse_moment(args.from_), parse_moment(args.to, end=True), args.ip)
        refuse_inside_data_dir(args.out, args.data_dir)
        sealer = sealer_for(args.data_dir)
    except ValueError as exc:
        print(f"cookiegate export: {exc}", file=sys.stderr)
        return 2
    store = access_store(args)  # refuses a data dir without stores before anything is written there
    try:
        record_staff_read(args.data_dir, operator=args.operator, reason=args.reason, command="export",
                          detail=permit_detail(scope, sealer))  # fmt: skip
        disclosure = export_disclosure(
            store,
            from_ms=parse_moment(args.from_),
            to_ms_=parse_moment(args.to, end=True),
            ip=args.ip,
            agency=args.agency,
            permit=args.permit,
            out=args.out,
            clock=clock,
            progress=sys.stderr,
            overwrite=args.force,
            sealer=sealer,
            scope=scope,
        )
    finally:
        store.close()
    print(f"exported {disclosure.records} records to {disclosure.out_file} (sha256 {disclosure.sha256});"
          " the disclosure is recorded in the disclosure ledger (kept 7 years)", file=sys.stderr)  # fmt: skip
    return 0

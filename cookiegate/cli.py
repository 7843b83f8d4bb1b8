"""The ``cookiegate`` command: ``demo`` and the operator commands for the access log and the consent ledger.

Every operator command takes ``--data-dir`` (the embedded default's folder) or explicit store URLs, and
first stores whatever a stopped server left in the spool, so counts and exports are complete.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import stat
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from cookiegate.accesslog import recover_spool
from cookiegate.demo import command as demo_command
from cookiegate.knowledge.command import register as register_cookies
from cookiegate.ledger import ConsentLedger
from cookiegate.policy import CATEGORIES, Policy
from cookiegate.retention import (
    DEFAULT_RETENTION_MONTHS,
    export_disclosure,
    from_ms,
    parse_moment,
    purge,
    retention_cutoff,
    to_ms,
    utc_now,
    validate_retention_months,
)
from cookiegate.scan.command import register as register_scan
from cookiegate.services import spool_dir
from cookiegate.starter import register as register_init
from cookiegate.stores import AccessStore, default_urls, open_access_store, open_ledger_store, sqlite_path

Clock = Callable[[], datetime]


def _parser() -> argparse.ArgumentParser:
    stores = argparse.ArgumentParser(add_help=False)
    stores.add_argument("--data-dir", type=Path, default=Path("./cookiegate-data"), help="default ./cookiegate-data")
    stores.add_argument("--access-log-url", help="e.g. sqlite:///var/lib/cookiegate/access.db")
    stores.add_argument("--ledger-url", help="e.g. sqlite:///var/lib/cookiegate/ledger.db")
    stores.add_argument("--retention-months", type=int, default=DEFAULT_RETENTION_MONTHS)

    parser = argparse.ArgumentParser(prog="cookiegate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_command.register(commands)

    commands.add_parser("purge", parents=[stores], help="destroy access records past the retention period (cron)")

    export = commands.add_parser("export", parents=[stores], help="lawful disclosure against a court permit")
    export.add_argument("--from", dest="from_", required=True, help="2025-03-01 or ISO datetime (Seoul if naive)")
    export.add_argument("--to", required=True, help="inclusive date, or exclusive ISO datetime")
    export.add_argument("--ip", help="one address or a CIDR")
    export.add_argument("--agency", default="", help="the requesting agency (required)")
    export.add_argument("--permit", default="", help="the court permit number (required)")
    export.add_argument("--out", type=Path, required=True, help="file.jsonl or file.csv")

    hold = commands.add_parser("hold", help="legal holds: keep matching records past the cutoff")
    holds = hold.add_subparsers(dest="hold_command", required=True)
    add = holds.add_parser("add", parents=[stores])
    add.add_argument("--ip", required=True, help="an address or a CIDR")
    add.add_argument("--from", dest="from_", required=True)
    add.add_argument("--to", required=True)
    add.add_argument("--reason", required=True)
    list_ = holds.add_parser("list", parents=[stores])
    list_.add_argument("--all", action="store_true", help="include released holds")
    release = holds.add_parser("release", parents=[stores])
    release.add_argument("id", type=int)

    commands.add_parser("verify", parents=[stores], help="check the consent ledger's hash chain")
    report = commands.add_parser("report", parents=[stores], help="consent rates, blocked cookies, log size")
    report.add_argument("--json", action="store_true")
    report.add_argument("--policy", type=Path, help="the site's cookiegate.toml, to tell unknown cookies apart")
    commands.add_parser("migrate", parents=[stores], help="create or upgrade the store schemas")
    commands.add_parser("doctor", parents=[stores], help="check files, permissions, spool and retention")
    for register in (register_cookies, register_init, register_scan):
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock = utc_now) -> int:
    """Entry point of the ``cookiegate`` console script; ``clock`` is injectable for tests."""
    args = _parser().parse_args(argv)
    if "run" in args:  # commands that register themselves (cookies, init, scan)
        return int(args.run(args))
    if args.command == "demo":
        return demo_command.serve(args.host, args.port, args.data_dir)
    try:
        validate_retention_months(args.retention_months)
        handler = _COMMANDS[args.command]
        return handler(args, clock)
    except ValueError as exc:
        print(f"cookiegate {args.command}: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"cookiegate {args.command}: store error: {exc}", file=sys.stderr)
        return 3


def _urls(args: argparse.Namespace) -> tuple[str, str]:
    access, ledger = default_urls(args.data_dir)
    return args.access_log_url or access, args.ledger_url or ledger


def _access_store(args: argparse.Namespace) -> AccessStore:
    store = open_access_store(_urls(args)[0])
    recover_spool(spool_dir(args.data_dir), store)
    return store


def _ledger(args: argparse.Namespace) -> ConsentLedger:
    return ConsentLedger(open_ledger_store(_urls(args)[1]))


def _purge(args: argparse.Namespace, clock: Clock) -> int:
    store = _access_store(args)
    try:
        result = purge(store, months=args.retention_months, clock=clock)
    finally:
        store.close()
    print(
        orjson.dumps(
            {
                "cutoff": from_ms(result.cutoff_ms).isoformat(),
                "removed": result.removed,
                "kept_by_hold": result.kept_by_hold,
                "partitions_dropped": result.partitions_dropped,
            }
        ).decode()
    )
    return 0


def _export(args: argparse.Namespace, clock: Clock) -> int:
    if not args.agency.strip() or not args.permit.strip():
        print(
            "cookiegate export: refused — a disclosure needs --agency and --permit (the court permit number); "
            "통신비밀보호법 제13조 allows disclosure of access records only against a permit",
            file=sys.stderr,
        )
        return 2
    store = _access_store(args)
    try:
        disclosure = export_disclosure(
            store,
            from_ms=parse_moment(args.from_),
            to_ms=parse_moment(args.to, end=True),
            ip=args.ip,
            agency=args.agency,
            permit=args.permit,
            out=args.out,
            clock=clock,
            progress=sys.stderr,
        )
    finally:
        store.close()
    print(f"exported {disclosure.records} records to {disclosure.out_file} (sha256 {disclosure.sha256});"
          " the disclosure is recorded in the disclosure ledger (kept 7 years)", file=sys.stderr)
    return 0


def _hold(args: argparse.Namespace, clock: Clock) -> int:
    store = open_access_store(_urls(args)[0])
    try:
        if args.hold_command == "add":
            hold_id = store.add_hold(
                args.ip, parse_moment(args.from_), parse_moment(args.to, end=True), args.reason,
                now_ms=to_ms(clock()),
            )
            print(hold_id)
        elif args.hold_command == "list":
            for hold in store.holds(include_released=args.all):
                print(orjson.dumps({
                    "id": hold.id, "ip": hold.ip, "from": from_ms(hold.from_ms).isoformat(),
                    "to": from_ms(hold.to_ms).isoformat(), "reason": hold.reason,
                    "released": None if hold.released_ms is None else from_ms(hold.released_ms).isoformat(),
                }).decode())  # fmt: skip
        elif not store.release_hold(args.id, now_ms=to_ms(clock())):
            print(f"cookiegate hold release: no active hold {args.id}", file=sys.stderr)
            return 1
    finally:
        store.close()
    return 0


def _verify(args: argparse.Namespace, clock: Clock) -> int:
    ledger = _ledger(args)
    try:
        check = ledger.verify()
    finally:
        ledger.close()
    if check.ok:
        print(f"consent ledger OK: {check.checked} events, head {check.head_seq} {check.head_hash}")
        return 0
    print(f"consent ledger BROKEN at event {check.broken_at}: {check.reason} "
          f"({check.checked} events before it verify)", file=sys.stderr)
    return 1


def _report(args: argparse.Namespace, clock: Clock) -> int:
    store = _access_store(args)
    try:
        stats = store.stats()
        blocked = store.blocked_cookies()
        audits = store.audit_lines()
    finally:
        store.close()
    ledger = _ledger(args)
    try:
        latest: dict[str, dict[str, object]] = {}
        for row in ledger.store.rows():
            latest[str(row["consent_id"])] = row
        check = ledger.verify()
    finally:
        ledger.close()
    policy = Policy.load(args.policy) if args.policy else Policy.default()
    visitors = len(latest)
    records = int(str(stats["access_records"]))
    cutoff = retention_cutoff(clock(), args.retention_months)
    oldest = stats["oldest_ms"]
    names: dict[str, int] = {}
    for _, name, _, count in blocked:
        names[name] = names.get(name, 0) + count
    report: dict[str, Any] = {
        "access_records": records,
        "consent_visitors": visitors,
        "consent_rates": {
            c: _share(sum(1 for r in latest.values() if c in str(r["granted"]).split(",")), visitors)
            for c in CATEGORIES
        },
        "consent_gpc_share": _share(sum(1 for r in latest.values() if r["gpc"]), visitors),
        "consent_under14_share": _share(sum(1 for r in latest.values() if r["under14"]), visitors),
        "gpc_share": _share(int(str(stats["gpc_requests"])), records),
        "under14_share": _share(int(str(stats["under14_requests"])), records),
        "blocked_unknown_cookies": [
            {"name": n, "count": c} for n, c in sorted(names.items(), key=lambda i: -i[1])
            if not policy.knows(n)
        ],
        "blocked_cookies": [{"direction": d, "name": n, "path": p, "count": c} for d, n, p, c in blocked[:200]],
        "log_size_bytes": stats["size_bytes"],
        "partitions": stats["partitions"],
        "oldest_record": None if oldest is None else from_ms(int(str(oldest))).isoformat(),
        "retention_months": args.retention_months,
        "cutoff": cutoff.isoformat(),
        "overdue": oldest is not None and int(str(oldest)) < to_ms(cutoff),
        "last_purge": audits[-1] if audits else None,
        "ledger_chain_ok": check.ok,
        "ledger_head": {"seq": check.head_seq, "hash": check.head_hash},
    }
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        for key, value in report.items():
            print(f"{key}: {orjson.dumps(value).decode()}")
    return 0


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _migrate(args: argparse.Namespace, clock: Clock) -> int:
    access_url, ledger_url = _urls(args)
    access = open_access_store(access_url)
    ledger = open_ledger_store(ledger_url)
    try:
        print(f"access log schema {access.migrate()}, consent ledger schema {ledger.migrate()}")
    finally:
        access.close()
        ledger.close()
    return 0


def _doctor(args: argparse.Namespace, clock: Clock) -> int:
    problems: list[str] = []
    access_url, ledger_url = _urls(args)
    for url in (access_url, ledger_url):
        if url.startswith("sqlite:"):
            path = sqlite_path(url)
            if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
                problems.append(f"{path} is readable by others; chmod 600 it (it holds personal data)")
    spool = spool_dir(args.data_dir)
    if spool.is_dir():
        waiting = sum(p.stat().st_size for p in spool.glob("*.spool"))
        print(f"spool: {waiting} bytes in {spool}")
    store = _access_store(args)
    try:
        stats = store.stats()
    finally:
        store.close()
    cutoff = retention_cutoff(clock(), args.retention_months)
    oldest = stats["oldest_ms"]
    if oldest is not None and int(str(oldest)) < to_ms(cutoff) - 2 * 86_400_000:
        problems.append(f"records older than the cutoff {cutoff.date()} are still stored: run `cookiegate purge`")
    check = _ledger(args).verify()
    if not check.ok:
        problems.append(f"consent ledger chain broken at event {check.broken_at}: {check.reason}")
    if os.name == "posix" and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("note: running as root; run the server as an unprivileged user owning the data dir")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print("doctor: OK" if not problems else f"doctor: {len(problems)} problem(s)")
    return 1 if problems else 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, Clock], int]] = {
    "purge": _purge,
    "export": _export,
    "hold": _hold,
    "verify": _verify,
    "report": _report,
    "migrate": _migrate,
    "doctor": _doctor,
}

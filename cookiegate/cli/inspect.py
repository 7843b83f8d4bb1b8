"""``cookiegate verify``, ``report`` and ``doctor``: is the ledger intact, what do the numbers say, is all well."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import Any

import orjson

from cookiegate.cli.common import Clock, access_store, aggregates_store, ledger_store, store_options, urls
from cookiegate.clock import from_ms, to_ms
from cookiegate.keyfile import configured_keyring
from cookiegate.policy import CATEGORIES, Policy
from cookiegate.records.chain import verify
from cookiegate.records.channels import spool_root
from cookiegate.records.retention import purge_cutoff, retention_cutoff
from cookiegate.records.spool import spool_bytes
from cookiegate.records.status import read_status
from cookiegate.stores import StoreMissingError, sqlite_path
from cookiegate.stores.protocols import LedgerStore


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser("verify", parents=[store_options()], help="check the consent ledger's hash chain").set_defaults(
        handler=_verify
    )
    report = commands.add_parser("report", parents=[store_options()], help="consent rates, blocked cookies, log size")
    report.add_argument("--json", action="store_true")
    report.add_argument("--policy", type=Path, help="the site's cookiegate.toml, to tell unknown cookies apart")
    report.set_defaults(handler=_report)
    commands.add_parser(
        "doctor", parents=[store_options()], help="check files, permissions, ingester, spool and retention"
    ).set_defaults(handler=_doctor)


def _ledger_check(args: argparse.Namespace) -> tuple[LedgerStore, Any]:
    store = ledger_store(args)
    # A retention purge leaves the hash the chain continues from.
    return store, verify(store.rows(), store.anchor())


def _verify(args: argparse.Namespace, clock: Clock) -> int:
    access_store(args).close()  # stores the spool (and refuses a data dir that holds no stores)
    store, check = _ledger_check(args)
    store.close()
    if check.ok:
        print(f"consent ledger OK: {check.checked} events, head {check.head_seq} {check.head_hash}")
        return 0
    print(f"consent ledger BROKEN at event {check.broken_at}: {check.reason} "
          f"({check.checked} events before it verify)", file=sys.stderr)  # fmt: skip
    return 1


def _report(args: argparse.Namespace, clock: Clock) -> int:
    """Consent rates come from the ledger and blocked cookies from the aggregates; the log gives only its size."""
    access = access_store(args)
    try:
        stats, audits = access.stats(), access.audit_lines()
    finally:
        access.close()
    ledger, check = _ledger_check(args)
    try:
        latest = {event.consent_id: event for event in ledger.rows()}
    finally:
        ledger.close()
    aggregates = aggregates_store(args)
    try:
        blocked = aggregates.blocked_cookies()
    finally:
        aggregates.close()
    policy = Policy.load(args.policy) if args.policy else Policy.default()
    visitors = len(latest)
    cutoff = retention_cutoff(clock(), args.retention_months)
    destroy_before = purge_cutoff(clock(), args.retention_months)
    names: dict[str, int] = {}
    for _, name, _, count in blocked:
        names[name] = names.get(name, 0) + count
    report: dict[str, Any] = {
        "access_records": stats.records,
        "consent_visitors": visitors,
        "consent_rates": {
            c: _share(sum(1 for e in latest.values() if c in e.granted.split(",")), visitors) for c in CATEGORIES
        },
        "consent_gpc_share": _share(sum(1 for e in latest.values() if e.gpc), visitors),
        "consent_under14_share": _share(sum(1 for e in latest.values() if e.under14), visitors),
        "blocked_unknown_cookies": [
            {"name": n, "count": c} for n, c in sorted(names.items(), key=lambda i: -i[1]) if not policy.knows(n)
        ],
        "blocked_cookies": [{"direction": d, "name": n, "path": p, "count": c} for d, n, p, c in blocked[:200]],
        "log_size_bytes": stats.size_bytes,
        "partitions": stats.partitions,
        "oldest_record": None if stats.oldest_ms is None else from_ms(stats.oldest_ms).isoformat(),
        "retention_months": args.retention_months,
        "cutoff": cutoff.isoformat(),
        "purge_cutoff": destroy_before.isoformat(),
        "overdue": stats.oldest_ms is not None and stats.oldest_ms < to_ms(destroy_before),
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


def _doctor(args: argparse.Namespace, clock: Clock) -> int:
    problems: list[str] = []
    for url in urls(args):
        if url.startswith("sqlite:"):
            path = sqlite_path(url)
            if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
                problems.append(f"{path} is readable by others; chmod 600 it (it holds personal data)")
    access = access_store(args)
    try:
        stats = access.stats()
    finally:
        access.close()
    print(f"access log: {stats.records} records in {stats.partitions} day partitions")
    problems += _ingest_problems(args.data_dir)
    cutoff = purge_cutoff(clock(), args.retention_months)  # the statutory period plus the grace
    if stats.oldest_ms is not None and stats.oldest_ms < to_ms(cutoff) - 2 * 86_400_000:
        problems.append(f"records older than the cutoff {cutoff.date()} are still stored: run `cookiegate purge`")
    try:
        ledger, check = _ledger_check(args)
        ledger.close()
        if not check.ok:
            problems.append(f"consent ledger chain broken at event {check.broken_at}: {check.reason}")
    except StoreMissingError as exc:
        problems.append(str(exc))
    if os.name == "posix" and os.geteuid() == 0:
        print("note: running as root; run the server as an unprivileged user owning the data dir")
    if configured_keyring(args.data_dir) is None:
        print("note: no COOKIEGATE_KEY_FILE: client addresses are stored in plain text (개인정보 보호법 제29조); "
              "see `cookiegate keys generate`")  # fmt: skip
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print("doctor: OK" if not problems else f"doctor: {len(problems)} problem(s)")
    return 1 if problems else 0


def _ingest_problems(data_dir: Path) -> list[str]:
    """The ingester's own counters (its status file) and what waits in the spool."""
    problems: list[str] = []
    root = spool_root(data_dir)
    for channel in ("access", "ledger", "aggregates"):
        folder = root / channel
        if folder.is_dir():
            print(f"spool {channel}: {spool_bytes(folder)} bytes waiting in {folder}")
    status = read_status(data_dir)
    if status is None:
        print("ingester: no status file yet (it has never run for this data dir)")
        return problems
    print(f"ingester: {status.get('state')} (pid {status.get('pid')}, failures {status.get('failures')})")
    if status.get("state") == "failing":
        problems.append(f"the ingester is failing: {status.get('last_error')}; records wait in the spool")
    channels = status.get("channels")
    for name, counters in channels.items() if isinstance(channels, dict) else ():
        if not isinstance(counters, dict):
            continue
        print(f"  {name}: stored {counters.get('stored')}, corrupt frames skipped {counters.get('corrupt')}, "
              f"dropped by writers {counters.get('dropped_by_writers')}")  # fmt: skip
        if counters.get("dropped_by_writers"):
            problems.append(f"{counters['dropped_by_writers']} {name} records were dropped (disk full or spool "
                            "over its bound): check free space and that the ingester runs")  # fmt: skip
    return problems

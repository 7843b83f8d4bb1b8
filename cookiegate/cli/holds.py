"""``cookiegate hold add|list|release``: keep matching access records past the retention cutoff.

A hold names an address of the statutory log and keeps its records past their destruction date, so every
hold command is a staff access to that data and is entered in the staff read log with who and why
(안전성 확보조치 기준 제8조; ``records/staff_log.py``). ``--operator`` defaults to the OS account running it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

import orjson

from cookiegate.cli.common import Clock, access_store, store_options
from cookiegate.cli.permits import sealer_for
from cookiegate.clock import from_ms, parse_moment, to_ms
from cookiegate.records.sealing import RecordSealer
from cookiegate.records.staff_log import record_staff_read


def hold_selector(ip: str, sealer: RecordSealer | None) -> str:
    """With sealed addresses a hold names the address's lookup tag, which the stored rows carry (제29조)."""
    if sealer is None:
        return ip
    if "/" in ip:
        raise ValueError("with encrypted addresses a hold names one address; add a hold per address")
    return sealer.cipher.tag(ip)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hold = commands.add_parser("hold", help="legal holds: keep matching records past the cutoff")
    holds = hold.add_subparsers(dest="hold_command", required=True, metavar="ACTION")
    add = holds.add_parser("add", parents=[store_options()], help="hold the records of an address or network")
    add.add_argument("--ip", required=True, help="an address or a CIDR")
    add.add_argument("--from", dest="from_", metavar="FROM", required=True, help="2025-03-01 or ISO datetime")
    add.add_argument("--to", required=True, help="inclusive date, or exclusive ISO datetime")
    add.add_argument("--reason", required=True, help="case number or request reference")
    add.set_defaults(handler=_add)
    list_ = holds.add_parser("list", parents=[store_options()], help="active holds, one JSON line each")
    list_.add_argument("--all", action="store_true", help="include released holds")
    list_.add_argument("--reason", default="review of legal holds", help="why (recorded in the staff read log)")
    list_.set_defaults(handler=_list)
    release = holds.add_parser("release", parents=[store_options()], help="end a hold")
    release.add_argument("id", type=int)
    release.add_argument("--reason", default="legal hold ended", help="why (recorded in the staff read log)")
    release.set_defaults(handler=_release)
    for parser in (add, list_, release):
        parser.add_argument("--operator", default=None, help="who runs this (default: the OS account)")


def _log(args: argparse.Namespace, command: str, **detail: object) -> None:
    """Enter this hold command in the staff read log (제8조) before it touches the store."""
    operator = args.operator if args.operator is not None else _os_account()
    record_staff_read(args.data_dir, operator=operator, reason=args.reason, command=command, detail=detail)


def _os_account() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # a container's uid without a passwd entry or login variables
        return f"uid {os.getuid()}"


def _add(args: argparse.Namespace, clock: Clock) -> int:
    start, end = parse_moment(args.from_), parse_moment(args.to, end=True)
    selector = hold_selector(args.ip, sealer_for(args.data_dir))
    store = access_store(args, drain=False)
    try:
        _log(args, "hold add", address=selector, from_ms=start, to_ms=end)
        hold_id = store.add_hold(selector, start, end, args.reason, now_ms=to_ms(clock()))
    finally:
        store.close()
    print(f"legal hold {hold_id} added: records of {args.ip} from {from_ms(start).isoformat()} to "
          f"{from_ms(end).isoformat()} are kept past the retention cutoff until "
          f"`cookiegate hold release {hold_id}`")  # fmt: skip
    return 0


def _list(args: argparse.Namespace, clock: Clock) -> int:
    store = access_store(args, drain=False)
    try:
        _log(args, "hold list", all=args.all)
        found = store.holds(include_released=args.all)
    finally:
        store.close()
    for hold in found:
        print(orjson.dumps({
            "id": hold.id, "ip": hold.ip, "from": from_ms(hold.from_ms).isoformat(),
            "to": from_ms(hold.to_ms).isoformat(), "reason": hold.reason,
            "released": None if hold.released_ms is None else from_ms(hold.released_ms).isoformat(),
        }).decode())  # fmt: skip
    return 0


def _release(args: argparse.Namespace, clock: Clock) -> int:
    store = access_store(args, drain=False)
    try:
        _log(args, "hold release", hold=args.id)
        released = store.release_hold(args.id, now_ms=to_ms(clock()))
    finally:
        store.close()
    if not released:
        print(f"cookiegate hold release: no active hold {args.id}", file=sys.stderr)
        return 1
    print(f"legal hold {args.id} released: its records are purged with the rest once past the cutoff")
    return 0

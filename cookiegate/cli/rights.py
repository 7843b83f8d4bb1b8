"""``cookiegate rights add|list|answer``: a visitor's 열람·정정·삭제·처리정지 request, answered within 10 days.

See ``records/rights.py`` for the law. Every answer reads the statutory log, so it needs ``--operator`` and
``--reason`` and is entered in the staff read log.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import orjson

from cookiegate.cli.common import Clock, access_store, ledger_store, store_options
from cookiegate.cli.permits import operator_options, refuse_inside_data_dir, sealer_for
from cookiegate.clock import SEOUL, seoul_day, to_ms, utc_iso
from cookiegate.destruction import DEFAULT_GRACE_DAYS
from cookiegate.records.rights import DEADLINE_BASIS, REQUEST_TYPES, STATUTORY_BASIS, RightsBook, destruction_date
from cookiegate.records.staff_log import record_staff_read


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rights = commands.add_parser("rights", help="data-subject requests: register, list deadlines, answer")
    actions = rights.add_subparsers(dest="rights_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[store_options()], help="register a request")
    add.add_argument("--type", required=True, choices=REQUEST_TYPES, help="access=열람, deletion=삭제, ...")
    add.add_argument("--requester", required=True, help="who asked (name, contact)")
    add.add_argument("--identity-check", required=True, help="how their identity was checked, e.g. mobile-id")
    add.add_argument("--received", type=date.fromisoformat, help="YYYY-MM-DD (default: today, Seoul)")
    add.add_argument("--consent-id", help="the visitor's consent id (shown by the banner's settings)")
    add.add_argument("--ip", help="the visitor's address, to find their access records")
    add.set_defaults(handler=_add)
    list_ = actions.add_parser("list", parents=[store_options()], help="requests with their 10-day deadlines")
    list_.set_defaults(handler=_list)
    answer = actions.add_parser("answer", parents=[store_options()], help="answer: 열람 data, or a refusal")
    answer.add_argument("id", type=int)
    answer.add_argument("--out", type=Path, required=True, help="the answer for the visitor (outside the data dir)")
    operator_options(answer)
    answer.set_defaults(handler=_answer)


def _today(clock: Clock) -> date:
    return clock().astimezone(SEOUL).date()


def _add(args: argparse.Namespace, clock: Clock) -> int:
    sealer = sealer_for(args.data_dir)
    tag = None if args.ip is None else (args.ip if sealer is None else sealer.cipher.tag(args.ip))
    request = RightsBook(args.data_dir).register(
        type=args.type, requester=args.requester, identity_check=args.identity_check,
        received=args.received or _today(clock), consent_id=args.consent_id, address_tag=tag,
    )  # fmt: skip
    print(f"rights request {request.id} ({request.type}) registered; answer by {request.deadline} "
          f"({DEADLINE_BASIS[request.type]})")  # fmt: skip
    return 0


def _list(args: argparse.Namespace, clock: Clock) -> int:
    today = _today(clock)
    for request in RightsBook(args.data_dir).all():
        left = request.days_left(today)
        print(orjson.dumps({
            "id": request.id, "type": request.type, "received": request.received, "deadline": request.deadline,
            "days_left": None if request.answered else left, "overdue": request.answered is None and left < 0,
            "answered": request.answered, "outcome": request.outcome, "basis": DEADLINE_BASIS[request.type],
        }).decode())  # fmt: skip
    return 0


def _answer(args: argparse.Namespace, clock: Clock) -> int:
    book = RightsBook(args.data_dir)
    request = book.get(args.id)
    if request is None:
        raise ValueError(f"no rights request {args.id}; `cookiegate rights list` shows them")
    refuse_inside_data_dir(args.out, args.data_dir)
    sealer = sealer_for(args.data_dir)
    access = access_store(args)
    try:
        record_staff_read(args.data_dir, operator=args.operator, reason=args.reason, command="rights answer",
                          detail={"request": request.id, "type": request.type})  # fmt: skip
        records = [] if request.address_tag is None else list(access.records(0, to_ms(clock()), request.address_tag))
    finally:
        access.close()
    ledger = ledger_store(args)
    try:
        events = [] if request.consent_id is None else ledger.history(request.consent_id)
    finally:
        ledger.close()
    opened = [r if sealer is None else sealer.open_record(r) for r in records]
    today = _today(clock)
    answer: dict[str, object] = {"request": request.id, "type": request.type, "answered": today.isoformat()}
    if request.type == "access":
        answer["consent_history"] = [{k: v for k, v in e._asdict().items() if k not in ("prev_hash", "hash")}
                                     for e in events]  # fmt: skip
        answer["access_records"] = [{"time_utc": utc_iso(r.ts_ms), **r._asdict()} for r in opened]
        outcome = f"열람 제공: 동의 기록 {len(events)}건, 접속기록 {len(opened)}건"
    else:
        newest = max((r.ts_ms for r in opened), default=None)
        until = None
        if newest is not None:
            until = destruction_date(seoul_day(newest)[0], args.retention_months, DEFAULT_GRACE_DAYS).isoformat()
        answer["refused"] = STATUTORY_BASIS
        answer["access_records_destroyed_by"] = until
        answer["consent_records"] = (
            "동의 기록은 동의를 증명하기 위해(개인정보 보호법 제22조) 해당 방침이 바뀐 뒤 3년간 보관 후 파기합니다. "
            "쿠키 처리는 화면 아래 '쿠키 설정'에서 동의를 철회하면 즉시 멈춥니다(제37조)."
        )
        outcome = f"거부(법정 보관): 접속기록 {len(opened)}건은 {until or '-'}까지 보관 후 파기"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(answer, option=orjson.OPT_INDENT_2))
    book.answer(request.id, outcome=outcome, operator=args.operator, on=today)
    late = "" if request.days_left(today) >= 0 else f" — {-request.days_left(today)} day(s) late"
    print(f"rights request {request.id}: {outcome}; answer written to {args.out}{late}", file=sys.stderr)
    return 0

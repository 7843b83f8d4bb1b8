"""``cookiegate checkpoint write|verify``: the ledger's signed daily head, kept apart (see records/checkpoint.py).

Run ``checkpoint write`` daily (cron or a systemd timer) with ``--file`` on another disk or host; ``checkpoint
verify`` checks the chain and that no checkpointed event is missing (개인정보 보호법 제22조: proof of consent).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cookiegate.cli.common import Clock, access_store, ledger_store, store_options
from cookiegate.keyfile import load_keyring
from cookiegate.records.chain import verify
from cookiegate.records.checkpoint import CHECKPOINT_FILE_ENV, CheckpointLog


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    checkpoint = commands.add_parser("checkpoint", help="signed daily ledger heads, kept apart from the ledger")
    actions = checkpoint.add_subparsers(dest="checkpoint_command", required=True, metavar="ACTION")
    for name, helptext in (("write", "sign and append the ledger's head (daily)"),
                           ("verify", "check the chain and every checkpoint")):  # fmt: skip
        action = actions.add_parser(name, parents=[store_options()], help=helptext)
        action.add_argument(
            "--file", type=Path, help=f"checkpoint file outside the data dir (or ${CHECKPOINT_FILE_ENV})"
        )
        action.add_argument("--key-file", type=Path, help="key file with a signing key (or $COOKIEGATE_KEY_FILE)")
        action.set_defaults(handler=_write if name == "write" else _verify)


def _log(args: argparse.Namespace) -> CheckpointLog:
    path = args.file or (Path(os.environ[CHECKPOINT_FILE_ENV]) if os.environ.get(CHECKPOINT_FILE_ENV) else None)
    if path is None:
        raise ValueError(f"name the checkpoint file: --file PATH or {CHECKPOINT_FILE_ENV} (outside the data dir)")
    keys = load_keyring(key_file=args.key_file, data_dir=args.data_dir)
    return CheckpointLog(path, keys, data_dir=args.data_dir)


def _write(args: argparse.Namespace, clock: Clock) -> int:
    log = _log(args)
    access_store(args).close()  # stores what the spool holds first, so the head is today's
    store = ledger_store(args)
    try:
        check = verify(store.rows(), store.anchor())
    finally:
        store.close()
    if not check.ok:
        print(f"cookiegate checkpoint: refused, the chain is broken at event {check.broken_at}: {check.reason}",
              file=sys.stderr)  # fmt: skip
        return 1
    written = log.write(check.head_seq, check.head_hash, clock())
    print(f"checkpoint: event {written.seq} {written.head_hash} signed with key {written.key_id} at {written.at}")
    return 0


def _verify(args: argparse.Namespace, clock: Clock) -> int:
    log = _log(args)
    access_store(args).close()
    store = ledger_store(args)
    try:
        events = list(store.rows())
        anchor = store.anchor()
    finally:
        store.close()
    chain = verify(events, anchor)
    found = log.verify(((e.seq, e.hash) for e in events), clock())
    for warning in found.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    problems = [*found.problems]
    if not chain.ok:
        problems.insert(0, f"the chain is broken at event {chain.broken_at}: {chain.reason}")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"consent ledger OK: {chain.checked} events, {found.checked} checkpoints match")
    return 0

"""``cookiegate keys generate``: create the key file, or rotate one kind of key in it.

The key file must live outside the data dir (안전성 확보조치 기준 제7조); ``--data-dir`` is checked so a
typo cannot put it beside the data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cookiegate.cli.common import Clock
from cookiegate.crypto import KeyRingError
from cookiegate.keyfile import KEY_FILE_ENV, KINDS, generate


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keys`` to the ``cookiegate`` subparsers."""
    keys = commands.add_parser("keys", help="encryption, lookup and checkpoint-signing keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    make = actions.add_parser("generate", help="create the key file, or add a newest key (--rotate)")
    make.add_argument("--key-file", type=Path, required=True, help="e.g. /etc/cookiegate/keys.json")
    make.add_argument("--data-dir", type=Path, default=Path("./cookiegate-data"), help="refused as a location")
    make.add_argument("--rotate", action="append", choices=KINDS, default=[], help="kind of key to add")
    make.set_defaults(handler=run)


def run(args: argparse.Namespace, clock: Clock) -> int:
    try:
        added = generate(args.key_file, rotate=tuple(args.rotate), data_dir=args.data_dir)
    except KeyRingError as exc:
        print(f"cookiegate keys: {exc}", file=sys.stderr)
        return 2
    print(f"{args.key_file}: added {', '.join(added)}; mode 600. Give the gate {KEY_FILE_ENV}={args.key_file}")
    return 0

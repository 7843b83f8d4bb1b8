"""The ``cookiegate`` command: one module per command group, each with a ``register(commands)`` function.

Store commands take ``--data-dir`` (the embedded default's folder) or explicit store URLs, refuse a store that
does not exist (naming the path: a typo must not create an empty log and report success), and first store
what the spool still holds when no ingester is running, so counts and exports are complete.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cookiegate.cli import (
    admin,
    checkpoints,
    disclosure,
    holds,
    inspect,
    keys,
    ledger_retention,
    policy_text,
    rights,
)
from cookiegate.cli.common import Clock, store_errors
from cookiegate.clock import utc_now
from cookiegate.knowledge.command import register as register_cookies
from cookiegate.scan.command import register as register_scan
from cookiegate.starter import register as register_init
from cookiegate.stores import StoreMissingError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cookiegate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (admin, disclosure, holds, inspect, keys, policy_text, checkpoints, rights, ledger_retention):
        module.register(commands)
    for register in (register_cookies, register_init, register_scan):
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock = utc_now) -> int:
    """Entry point of the ``cookiegate`` console script; ``clock`` is injectable for tests."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args, clock)
        sys.stdout.flush()
        return result
    except BrokenPipeError:
        # ``cookiegate doctor | head -1``: the reader left; say nothing more (Python's documented recipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (ValueError, StoreMissingError) as exc:
        print(f"cookiegate {args.command}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not isinstance(exc, store_errors()):
            raise
        print(f"cookiegate {args.command}: store error: {exc}", file=sys.stderr)
        return 3

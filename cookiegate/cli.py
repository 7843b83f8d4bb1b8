"""The ``cookiegate`` command: ``demo`` and the operator commands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cookiegate`` console script."""
    parser = argparse.ArgumentParser(prog="cookiegate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the sample shop behind the gate on localhost")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", type=Path, default=Path("./cookiegate-data"))
    args = parser.parse_args(argv)
    if args.command == "demo":
        from cookiegate.demo import run

        run(host=args.host, port=args.port, data_dir=args.data_dir)
    return 0

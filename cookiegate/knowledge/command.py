"""``cookiegate cookies import FILE.csv``: refresh the shipped cookie knowledge from a newer database file."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from cookiegate.knowledge import OCD_FILE, read_facts
from cookiegate.knowledge.importer import import_database
from cookiegate.knowledge.patterns import CATEGORIES


def shipped_ocd_path() -> Path:
    """Where the package keeps ``ocd.csv`` (a real file in a checkout or an unpacked wheel)."""
    return Path(str(resources.files("cookiegate.knowledge").joinpath(OCD_FILE)))


def register(commands: Any) -> None:
    """Add ``cookies import`` to the ``cookiegate`` command's subparsers."""
    cookies = commands.add_parser("cookies", help="the shipped cookie knowledge (Open Cookie Database + curated)")
    actions = cookies.add_subparsers(dest="cookies_command", required=True, metavar="ACTION")
    importer = actions.add_parser(
        "import",
        help="refresh the shipped facts from an Open Cookie Database CSV",
        description="Map a newer open-cookie-database.csv to cookiegate's four purposes (the same judgement "
        "every time: see cookiegate/knowledge/mapping.py) and replace the shipped ocd.csv.",
    )
    importer.add_argument("file", type=Path, metavar="FILE.csv", help="open-cookie-database.csv")
    importer.add_argument("--out", type=Path, help="write here instead of the package's ocd.csv")
    importer.set_defaults(handler=lambda args, clock: run_import(args))


def run_import(args: argparse.Namespace) -> int:
    """Import, then say what changed so the operator can review it before committing."""
    destination: Path = args.out or shipped_ocd_path()
    before: dict[tuple[str, str], str] = {}
    if destination.is_file():
        before = {(f.name, f.match): f.category for f in read_facts(destination.read_text(encoding="utf-8"), OCD_FILE)}
    try:
        rows = import_database(args.file, destination)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        hint = " (use --out to write elsewhere)" if isinstance(exc, PermissionError) else ""
        print(f"cookiegate cookies import: {exc}{hint}", file=sys.stderr)
        return 2
    after = {(row.name, row.match): row.category for row in rows}
    counts = ", ".join(f"{sum(1 for c in after.values() if c == cat)} {cat}" for cat in CATEGORIES)
    changed = sorted(key for key in after.keys() & before.keys() if after[key] != before[key])
    print(f"wrote {len(rows)} cookie facts to {destination}: {counts}")
    print(f"{len(after.keys() - before.keys())} added, {len(before.keys() - after.keys())} removed, "
          f"{len(changed)} changed category")  # fmt: skip
    for name, match in changed[:50]:
        suffix = "*" if match == "prefix" else ""
        print(f"  {name}{suffix}: {before[name, match]} -> {after[name, match]}")
    return 0

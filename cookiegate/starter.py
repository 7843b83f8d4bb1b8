"""``cookiegate init``: write a starter ``cookiegate.toml``, so ``Policy.load("cookiegate.toml")`` works.

The same renderer writes the draft policy of ``cookiegate scan``: one place decides what a site policy
file looks like.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from cookiegate.knowledge.patterns import CATEGORIES, Category

_HEADER = """\
# cookiegate site policy. Laid over the shipped default (cookiegate/default_policy.toml): the rules below
# win over the shipped cookie knowledge, texts given here replace the default's per category and locale.
# Changing `version` re-asks every visitor (consent is given to one version of the notice).
version = {version}
effective_date = {version}        # 시행일, shown in the banner
privacy_policy_url = "/privacy"
consent_max_age_days = 183         # re-ask after about six months
child_directed = false             # true: treat every visitor as under 14 (no targeting at all)
"""

_COOKIES_HELP = """\
# Your cookies: an exact name, a prefix ending in "*", or a glob. A name nobody classified is treated as
# targeting (blocked until a visitor accepts advertising); run `cookiegate scan URL` to list yours.
"""


def render_policy(
    version: date,
    cookies: Mapping[Category, Sequence[str]] | None = None,
    notes: Mapping[str, str] | None = None,
) -> str:
    """A site policy file: header, then one list per purpose (``notes`` become end-of-line comments)."""
    lines = [_HEADER.format(version=json.dumps(version.isoformat())), _COOKIES_HELP, "[cookies]"]
    for category in CATEGORIES:
        names = list((cookies or {}).get(category, ()))
        if not names:
            lines.append(f"{category} = []")
            continue
        lines.append(f"{category} = [")
        for name in names:
            note = (notes or {}).get(name)
            lines.append(f"  {json.dumps(name)},{'  # ' + note if note else ''}")
        lines.append("]")
    return "\n".join(lines) + "\n"


def write_new(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path``; refuses an existing file unless ``force`` (an edited policy is precious)."""
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def register(commands: Any) -> None:
    """Add ``init`` to the ``cookiegate`` command's subparsers."""
    init = commands.add_parser(
        "init",
        help="write a starter cookiegate.toml",
        description="Write a starter site policy that Policy.load('cookiegate.toml') reads as is.",
    )
    init.add_argument("path", nargs="?", type=Path, default=Path("cookiegate.toml"), help="default ./cookiegate.toml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=lambda args, clock: run_init(args))


def run_init(args: argparse.Namespace) -> int:
    try:
        write_new(args.path, render_policy(date.today()), force=args.force)
    except OSError as exc:
        print(f"cookiegate init: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.path}; mount it with policy=Policy.load({str(args.path)!r})")
    return 0

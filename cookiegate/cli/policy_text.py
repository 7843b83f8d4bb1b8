"""``cookiegate policy-text``: print the cookie section of the privacy policy (개인정보 보호법 제30조①)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cookiegate.cli.common import Clock
from cookiegate.destruction import DEFAULT_GRACE_DAYS, validate_grace_days
from cookiegate.policy import Policy
from cookiegate.policytext import policy_text
from cookiegate.records.retention import DEFAULT_RETENTION_MONTHS, validate_retention_months


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy-text`` to the ``cookiegate`` subparsers."""
    text = commands.add_parser("policy-text", help="the cookie section of the privacy policy (ko/en, md/html)")
    text.add_argument("--locale", choices=("ko", "en"), default="ko")
    text.add_argument("--format", choices=("md", "html"), default="md")
    text.add_argument("--policy", type=Path, help="the site's cookiegate.toml (default: the shipped policy)")
    text.add_argument("--retention-months", type=int, default=DEFAULT_RETENTION_MONTHS)
    text.add_argument("--grace-days", type=int, default=DEFAULT_GRACE_DAYS, help="days allowed for destruction")
    text.set_defaults(handler=run)


def run(args: argparse.Namespace, clock: Clock) -> int:
    try:
        validate_retention_months(args.retention_months)
        validate_grace_days(args.grace_days)
        policy = Policy.load(args.policy) if args.policy else Policy.default()
    except (OSError, ValueError) as exc:
        print(f"cookiegate policy-text: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(policy_text(policy, args.locale, args.format, retention_months=args.retention_months,
                                 grace_days=args.grace_days))  # fmt: skip
    return 0

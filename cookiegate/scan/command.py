"""``cookiegate scan URL``: crawl, classify, write the draft policy and the report, show a table."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from cookiegate.policy import Policy
from cookiegate.scan.findings import Finding, as_json, classify, draft_policy, markdown_report
from cookiegate.starter import write_new

if TYPE_CHECKING:  # rich and the crawler load only when a scan runs
    from rich.console import Console

    from cookiegate.scan.crawler import ScanResult


def register(commands: Any) -> None:
    """Add ``scan`` to the ``cookiegate`` command's subparsers."""
    scan = commands.add_parser(
        "scan",
        help="find the cookies a site sets (real Chromium) and draft its cookiegate.toml",
        description="Crawl same-origin links in headless Chromium after consenting to everything through the "
        "gate's API, record every cookie set by the server and by scripts per page, classify them, and write "
        "a draft policy plus a report of unknown cookies to classify. Needs playwright (pip install "
        "'cookiegate[scan]') and Chromium (apt-get install chromium).",
    )
    scan.add_argument("url", help="where to start, e.g. http://127.0.0.1:8000/")
    scan.add_argument("--pages", type=int, default=20, metavar="N", help="visit at most N pages (default 20)")
    scan.add_argument("--policy", type=Path, help="the site's cookiegate.toml, if it has one")
    scan.add_argument("--prefix", default="/_cookiegate", help="the gate's API prefix (default /_cookiegate)")
    scan.add_argument("--out-policy", type=Path, default=Path("cookiegate.draft.toml"), metavar="FILE",
                      help="draft policy (default cookiegate.draft.toml)")  # fmt: skip
    scan.add_argument("--report", type=Path, default=Path("cookiegate-scan.md"), metavar="FILE",
                      help="readable report (default cookiegate-scan.md)")  # fmt: skip
    scan.add_argument("--json", type=Path, metavar="FILE", help="also write the findings as JSON")
    scan.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS", help="per page (default 15)")
    scan.add_argument("--force", action="store_true", help="overwrite existing output files")
    scan.set_defaults(handler=lambda args, clock: run_scan(args))


class ScanStopped(Exception):
    """The scan cannot go on; the message says why, ``exit_code`` is what the command returns."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run_scan(args: argparse.Namespace) -> int:
    """Crawl, then write the draft policy, the report (and JSON) and print the table; 2 bad input, 1 no page."""
    from rich.console import Console

    err = Console(stderr=True)
    try:
        _check_arguments(args)
        # Before the crawl: a broken --policy file is a ValueError (exit 2) without a wasted crawl.
        policy = Policy.load(args.policy) if args.policy else Policy.default()
        result = _crawl(args, err)
    except ScanStopped as stop:
        err.print(f"cookiegate scan: {stop}")
        return stop.exit_code
    findings = classify(result, policy)
    write_new(args.out_policy, draft_policy(findings, date.today()), force=True)
    write_new(args.report, markdown_report(result, findings), force=True)
    if args.json is not None:
        write_new(args.json, orjson.dumps(as_json(result, findings), option=orjson.OPT_INDENT_2).decode(), force=True)
    _print_table(args, result, findings)
    return 0


def _check_arguments(args: argparse.Namespace) -> None:
    if args.pages < 1:
        raise ScanStopped("--pages must be at least 1")
    outputs = [p for p in (args.out_policy, args.report, args.json) if p is not None]
    existing = [str(p) for p in outputs if p.exists()]
    if existing and not args.force:
        raise ScanStopped(f"{', '.join(existing)} exist; pass --force to overwrite")


def _crawl(args: argparse.Namespace, err: Console) -> ScanResult:
    """The crawl, with a progress bar on stderr; a missing browser or an unreachable site stops the scan."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    try:
        from playwright.sync_api import Error as PlaywrightError
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ScanStopped("needs playwright: pip install 'cookiegate[scan]'") from exc
    from cookiegate.scan.crawler import crawl

    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  console=err, transient=True) as progress:  # fmt: skip
        task = progress.add_task("", total=args.pages)
        try:
            result = crawl(
                args.url,
                max_pages=args.pages,
                prefix=args.prefix,
                timeout_s=args.timeout,
                on_page=lambda url, done: progress.update(task, completed=done, description=url),
            )
        except ValueError as exc:
            raise ScanStopped(str(exc)) from exc
        except PlaywrightError as exc:  # no browser: Chromium missing, or it failed to start
            first_line = str(exc).splitlines()[0]
            install = "install Chromium: apt-get install -y --no-install-recommends chromium"
            raise ScanStopped(f"the browser did not start ({first_line}); {install}") from exc
    if len(result.errors) == len(result.pages):
        reason = result.errors[0][1] if result.errors else "nothing to scan"
        raise ScanStopped(f"no page loaded: {reason}", exit_code=1)
    return result


def _print_table(args: argparse.Namespace, result: ScanResult, findings: list[Finding]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"cookies set by {args.url} ({len(result.pages)} pages)")
    for column in ("cookie", "purpose", "known by", "set by", "first seen on"):
        table.add_column(column)
    for f in findings:
        style = "bold red" if f.known_by == "unknown" else None
        table.add_row(f.name, f.category, f.platform or f.known_by, "/".join(f.sources), f.pages[0], style=style)
    out = Console(file=sys.stdout)
    out.print(table)
    out.print(result.consent)
    unknown = sum(1 for f in findings if f.known_by == "unknown" and f.first_party)
    out.print(f"{unknown} unknown cookie(s) to classify; wrote {args.out_policy} and {args.report}")

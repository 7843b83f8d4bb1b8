"""What a scan found, classified: the draft ``cookiegate.toml`` and the report of cookies to classify."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from cookiegate.knowledge import describe
from cookiegate.knowledge.patterns import CATEGORIES, Category
from cookiegate.policy import Policy
from cookiegate.scan.crawler import ScanResult, Sighting, Source
from cookiegate.starter import render_policy

KnownBy = Literal["site policy", "knowledge", "unknown"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One cookie name the site sets, with its purpose and where it was seen."""

    name: str
    category: Category
    known_by: KnownBy
    platform: str
    sources: tuple[Source, ...]
    pages: tuple[str, ...]
    first_party: bool

    @property
    def note(self) -> str:
        """The end-of-line comment the draft policy gives this cookie."""
        where = f"set by {'/'.join(self.sources)} on {', '.join(self.pages[:3])}"
        if self.known_by == "unknown":
            return f"UNKNOWN: classify me ({where})"
        return f"{self.platform or self.known_by}; {where}"


def classify(result: ScanResult, policy: Policy) -> list[Finding]:
    """Findings sorted by purpose, then name; a cookie of the site's own host is first party."""
    host = result.start_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    by_name: dict[str, list[Sighting]] = {}
    for sighting in result.sightings:
        by_name.setdefault(sighting.name, []).append(sighting)
    findings = []
    for name, sightings in by_name.items():
        fact = describe(name)
        known_by: KnownBy = "unknown"
        if policy.site_knows(name):
            known_by = "site policy"
        elif policy.knows(name):
            known_by = "knowledge"
        findings.append(
            Finding(
                name=name,
                category=policy.classify(name),
                known_by=known_by,
                platform=fact.platform if fact is not None and known_by == "knowledge" else "",
                sources=tuple(sorted({s.source for s in sightings})),
                pages=tuple(dict.fromkeys(s.page for s in sightings)),
                first_party=any(_same_site(s.domain, host) for s in sightings),
            )
        )
    return sorted(findings, key=lambda f: (CATEGORIES.index(f.category), f.name))


def _same_site(domain: str, host: str) -> bool:
    domain = domain.lower().lstrip(".")
    return domain == host or host.endswith("." + domain) or domain.endswith("." + host)


def draft_policy(findings: Iterable[Finding], today: date) -> str:
    """A ``cookiegate.toml`` listing every first-party cookie under its purpose (unknown ones as targeting)."""
    cookies: dict[Category, list[str]] = {category: [] for category in CATEGORIES}
    notes: dict[str, str] = {}
    for finding in findings:
        if finding.first_party:
            cookies[finding.category].append(finding.name)
            notes[finding.name] = finding.note
    return render_policy(today, cookies, notes)


def markdown_report(result: ScanResult, findings: list[Finding]) -> str:
    """A readable report: how the scan ran, the cookies to classify first, then every cookie."""
    unknown = [f for f in findings if f.known_by == "unknown" and f.first_party]
    lines = [
        f"# Cookie scan of {result.start_url}",
        "",
        f"- pages scanned: {len(result.pages)} ({_listing(result.pages, 10)})",
        f"- consent: {result.consent}",
        f"- cookies found: {len(findings)} ({sum(f.first_party for f in findings)} first party)",
        "",
        f"## Unknown cookies to classify ({len(unknown)})",
        "",
    ]
    if unknown:
        lines += [
            "Nobody has classified these, so the gate treats them as targeting (blocked until a visitor accepts",
            "advertising). Move each to its purpose in the draft `cookiegate.toml`.",
            "",
            *_table(unknown),
        ]
    else:
        lines.append("None: every cookie the site sets is classified.")
    lines += ["", "## Every cookie", "", *_table(findings)]
    third_party = [f for f in findings if not f.first_party]
    if third_party:
        lines += ["", "Third-party cookies (other domains) are listed for completeness: the gate never sees them;",
                  "their scripts are what to gate (tag them with `data-category`)."]  # fmt: skip
    if result.errors:
        lines += ["", "## Pages that failed", "", *(f"- `{page}`: {error}" for page, error in result.errors)]
    return "\n".join(lines) + "\n"


def _table(findings: Iterable[Finding]) -> list[str]:
    rows = ["| cookie | purpose | known by | set by | pages | party |", "|---|---|---|---|---|---|"]
    for f in findings:
        rows.append(
            f"| `{f.name}` | {f.category} | {f.platform or f.known_by} | {'/'.join(f.sources)} "
            f"| {_listing(f.pages, 3)} | {'first' if f.first_party else 'third'} |"
        )
    return rows


def _listing(items: tuple[str, ...] | list[str], limit: int) -> str:
    return ", ".join(items[:limit]) + (" …" if len(items) > limit else "")


def as_json(result: ScanResult, findings: list[Finding]) -> dict[str, Any]:
    """The scan for machines (``--json``)."""
    return {
        "start_url": result.start_url,
        "consent": result.consent,
        "pages": result.pages,
        "errors": [{"page": page, "error": error} for page, error in result.errors],
        "cookies": [
            {
                "name": f.name,
                "category": f.category,
                "known_by": f.known_by,
                "platform": f.platform,
                "sources": list(f.sources),
                "pages": list(f.pages),
                "first_party": f.first_party,
            }
            for f in findings
        ],
    }

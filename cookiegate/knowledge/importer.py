"""Turn an Open Cookie Database CSV into the shipped ``ocd.csv``: facts only, mapped, deterministic.

Only names, platforms, categories, retention and domains are kept; the database's description sentences
are not shipped (its licence asks for credit, see NOTICE; facts keep the data file small).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cookiegate.knowledge.mapping import MIN_OPEN_PREFIX, map_ocd_row, stricter
from cookiegate.knowledge.patterns import Category, MatchKind

OCD_COLUMNS: Final = ("Platform", "Category", "Cookie / Data Key name", "Domain", "Retention period",
                      "Wildcard match")  # fmt: skip
SHIPPED_COLUMNS: Final = ("name", "match", "category", "ocd_category", "platform", "retention", "domain")

#: Browsers store any visible ASCII except ";", "," and "=" in a name; the database also lists storage keys
#: and placeholders ("Site History", "%INTEGER%") that can never arrive as a cookie.
_COOKIE_NAME: Final = re.compile(r"[!#-+\--:<>-~]+")


@dataclass(slots=True)
class ShippedRow:
    """One name (or prefix) of the database after mapping; several database rows may merge into one."""

    name: str
    match: MatchKind
    category: Category
    ocd_categories: set[str]
    platforms: set[str]
    retentions: set[str]
    domains: set[str]

    def cells(self) -> tuple[str, ...]:
        return (self.name, self.match, self.category, _join(self.ocd_categories), _join(self.platforms),
                _join(self.retentions), _join(self.domains))  # fmt: skip


def _join(values: Iterable[str]) -> str:
    return "; ".join(sorted(v for v in values if v))


def map_database(text: str) -> list[ShippedRow]:
    """Map every usable row of an OCD CSV; sorted so the same input always writes the same file."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in OCD_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"not an Open Cookie Database CSV: columns {missing} are missing")
    merged: dict[tuple[str, MatchKind], ShippedRow] = {}
    for row in reader:
        name = (row["Cookie / Data Key name"] or "").strip()
        platform = (row["Platform"] or "").strip()
        ocd_category = (row["Category"] or "").strip()
        domain = (row["Domain"] or "").strip()
        category = map_ocd_row(name, platform, ocd_category, domain)
        if category is None or not _COOKIE_NAME.fullmatch(name):
            continue
        match: MatchKind = "prefix" if (row["Wildcard match"] or "").strip() == "1" else "exact"
        if match == "prefix" and len(name) < MIN_OPEN_PREFIX and category != "targeting":
            match = "exact"
        key = (name, match)
        shipped = merged.get(key)
        if shipped is None:
            shipped = merged[key] = ShippedRow(name, match, category, set(), set(), set(), set())
        shipped.category = stricter(shipped.category, category)
        shipped.ocd_categories.add(ocd_category)
        shipped.platforms.add(platform)
        shipped.retentions.add((row["Retention period"] or "").strip().lower())
        shipped.domains.add(domain)
    return [merged[key] for key in sorted(merged)]


def render(rows: Iterable[ShippedRow]) -> str:
    """The CSV text of the shipped file (LF line ends, minimal quoting)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SHIPPED_COLUMNS)
    writer.writerows(row.cells() for row in rows)
    return out.getvalue()


def import_database(source: Path, destination: Path) -> list[ShippedRow]:
    """Read an OCD CSV at ``source`` and write the mapped facts to ``destination`` (atomic replace)."""
    rows = map_database(source.read_text(encoding="utf-8-sig"))
    if not rows:
        raise ValueError(f"{source}: no usable cookie rows; is it the Open Cookie Database CSV?")
    temporary = destination.with_name(destination.name + ".tmp")
    temporary.write_text(render(rows), encoding="utf-8")
    temporary.replace(destination)
    return rows

"""Cookie knowledge shipped with the package: which purpose a cookie name serves, and who sets it.

Two data files, loaded and compiled once per process:

- ``ocd.csv``: facts of the Open Cookie Database (Apache-2.0, see NOTICE), mapped to our purposes by
  ``mapping.py``; regenerate it with ``cookiegate cookies import FILE.csv``.
- ``extra.csv``: what the database lacks, each row citing its public source: Korean services (Naver,
  Kakao, Channel Talk, ...) and the session/CSRF cookies of web frameworks and load balancers. It wins
  over ``ocd.csv``; a site's ``cookiegate.toml`` wins over both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from cookiegate.knowledge.patterns import (
    CATEGORIES,
    Category,
    MatchKind,
    Patterns,
    compile_tables,
    is_category,
    match_pattern,
)

OCD_FILE: Final = "ocd.csv"
EXTRA_FILE: Final = "extra.csv"
MATCH_KINDS: Final[tuple[MatchKind, ...]] = ("exact", "prefix", "glob")


@dataclass(frozen=True, slots=True)
class Fact:
    """One known cookie name (or prefix, or glob) and what it is for."""

    name: str
    match: MatchKind
    category: Category
    platform: str
    retention: str = ""
    domain: str = ""
    source: str = ""

    @property
    def pattern(self) -> str:
        """The name in policy syntax: ``name`` for exact, ``name*`` for a prefix, the glob as is."""
        return self.name + "*" if self.match == "prefix" else self.name


def read_facts(text: str, origin: str) -> list[Fact]:
    """Parse a knowledge CSV (header ``name,match,category,platform,...``); raises naming the bad line."""
    facts: list[Fact] = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        name, match, category = row.get("name") or "", row.get("match") or "", row.get("category")
        if not name or match not in MATCH_KINDS or not is_category(category):
            raise ValueError(f"{origin}:{line}: needs a name, match in {MATCH_KINDS}, category in {CATEGORIES}")
        facts.append(
            Fact(
                name=name,
                match=match,
                category=category,
                platform=row.get("platform") or "",
                retention=row.get("retention") or "",
                domain=row.get("domain") or "",
                source=row.get("source") or ("Open Cookie Database" if origin == OCD_FILE else ""),
            )
        )
    return facts


def index_facts(facts: Iterable[Fact]) -> Patterns[Fact]:
    """Lookup tables over facts; a later fact replaces an earlier one with the same name and match."""
    tables: dict[MatchKind, dict[str, Fact]] = {kind: {} for kind in MATCH_KINDS}
    for fact in facts:
        tables[fact.match][fact.name] = fact
    return compile_tables(tables["exact"], tables["prefix"], tables["glob"])


@cache
def shipped_facts() -> tuple[Fact, ...]:
    """Every shipped fact, the database's first so the curated ones replace them."""
    folder = resources.files("cookiegate.knowledge")
    facts: list[Fact] = []
    for filename in (OCD_FILE, EXTRA_FILE):
        facts.extend(read_facts(folder.joinpath(filename).read_text(encoding="utf-8"), filename))
    return tuple(facts)


@cache
def shipped_index() -> Patterns[Fact]:
    """The shipped facts as lookup tables (built once per process)."""
    return index_facts(shipped_facts())


@cache
def shipped_patterns() -> Patterns[Category]:
    """The shipped facts reduced to categories: what ``Policy.classify`` consults after the site's rules."""
    index = shipped_index()
    return compile_tables(
        {name: fact.category for name, fact in index.exact.items()},
        {name: fact.category for name, fact in index.prefix_items()},
        {fact.name: fact.category for fact in index.glob_values},
    )


def describe(name: str) -> Fact | None:
    """The shipped fact that classifies ``name`` (for reports: platform, retention, source), if any."""
    return match_pattern(shipped_index(), name)


__all__ = ["CATEGORIES", "Category", "Fact", "describe", "index_facts", "read_facts", "shipped_facts",
           "shipped_index", "shipped_patterns"]  # fmt: skip

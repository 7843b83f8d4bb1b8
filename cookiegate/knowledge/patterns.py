"""Cookie-name lookup tables: an exact name, a prefix, or a glob, precomputed once.

``match`` answers an exact name with one dict lookup and a prefix with one dict lookup per distinct
prefix length, so classifying a cookie never scans a rule list (the request path calls it on every
name it has not seen).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Generic, Literal, TypeGuard, TypeVar

Category = Literal["necessary", "functional", "analytics", "targeting"]
CATEGORIES: Final[tuple[Category, ...]] = ("necessary", "functional", "analytics", "targeting")
MatchKind = Literal["exact", "prefix", "glob"]
V = TypeVar("V")


def is_category(value: object) -> TypeGuard[Category]:
    """Whether ``value`` names one of the four consent purposes."""
    return isinstance(value, str) and value in CATEGORIES


@dataclass(frozen=True, slots=True)
class Patterns(Generic[V]):
    """Compiled rules; build with ``compile_patterns`` (policy syntax) or ``compile_tables`` (knowledge).

    The value is a category for the policy and a whole fact (platform, retention) for the knowledge.
    """

    exact: dict[str, V]
    prefixes: dict[int, dict[str, V]]
    #: For each first character, the lengths of the prefixes starting with it, longest first: a name
    #: costs one lookup per such length instead of one per length of all ~40 the knowledge has.
    lengths_by_initial: dict[str, tuple[int, ...]]
    glob: re.Pattern[str] | None
    glob_values: tuple[V, ...]

    def __len__(self) -> int:
        return len(self.exact) + sum(map(len, self.prefixes.values())) + len(self.glob_values)

    def prefix_items(self) -> list[tuple[str, V]]:
        """Every ``(prefix, value)`` pair."""
        return [item for table in self.prefixes.values() for item in table.items()]


def compile_tables(exact: Mapping[str, V], prefixes: Mapping[str, V], globs: Mapping[str, V]) -> Patterns[V]:
    """Lookup tables from already separated exact names, prefixes (without ``*``) and fnmatch globs."""
    by_length: dict[int, dict[str, V]] = {}
    initials: dict[str, set[int]] = {}
    for prefix, value in prefixes.items():
        if not prefix:
            raise ValueError("a bare '*' rule matches every cookie; set unknown_category = \"...\" instead")
        by_length.setdefault(len(prefix), {})[prefix] = value
        initials.setdefault(prefix[0], set()).add(len(prefix))
    # Longest prefix first so "_hjSession_*" wins over "_hj*".
    lengths = {initial: tuple(sorted(found, reverse=True)) for initial, found in initials.items()}
    glob_re = None
    if globs:
        glob_re = re.compile("|".join(f"(?P<g{i}>{fnmatch.translate(p)})" for i, p in enumerate(globs)))
    return Patterns(dict(exact), by_length, lengths, glob_re, tuple(globs.values()))


def split_pattern(pattern: str) -> tuple[MatchKind, str]:
    """A policy pattern's kind and key: ``"a*"`` → ``("prefix", "a")``; ``"a?b"`` → ``("glob", "a?b")``."""
    if not pattern:
        raise ValueError("an empty cookie pattern matches nothing; remove it from the policy")
    wildcard_at = min((i for i, ch in enumerate(pattern) if ch in "*?["), default=-1)
    if wildcard_at == -1:
        return "exact", pattern
    if wildcard_at == len(pattern) - 1 and pattern.endswith("*"):
        return "prefix", pattern[:-1]
    return "glob", pattern


def compile_patterns(rules: Iterable[tuple[str, Category]]) -> Patterns[Category]:
    """Turn ``(pattern, category)`` pairs into lookup tables; a later pair overrides an earlier equal one."""
    tables: dict[MatchKind, dict[str, Category]] = {"exact": {}, "prefix": {}, "glob": {}}
    for pattern, category in rules:
        kind, key = split_pattern(pattern)
        tables[kind][key] = category
    return compile_tables(tables["exact"], tables["prefix"], tables["glob"])


def match_pattern(patterns: Patterns[V], name: str) -> V | None:
    """What the most specific rule says about ``name``, or None when no rule matches."""
    found = patterns.exact.get(name)
    if found is not None:
        return found
    for length in patterns.lengths_by_initial.get(name[:1], ()):
        if len(name) >= length:
            found = patterns.prefixes[length].get(name[:length])
            if found is not None:
                return found
    if patterns.glob is not None:
        match = patterns.glob.match(name)
        if match is not None and match.lastgroup is not None:
            return patterns.glob_values[int(match.lastgroup[1:])]
    return None

"""Reading a policy from TOML: the shipped default, a site's file laid over it, every field validated.

Configuration errors raise ``ValueError`` naming the field and the fix, at start-up: a typo in a site's
``cookiegate.toml`` must never reach a visitor as a wrong classification or a 500.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, TypedDict

from cookiegate.knowledge.patterns import CATEGORIES, Category, is_category
from cookiegate.policy import DEFAULT_MARKETING_PARAMS, LOCALES, TEXT_FIELDS, CategoryInfo, CategoryText

#: Sections merged table by table when a site's file is laid over the default (the rest replace whole).
_MERGED_SECTIONS = ("categories", "cookies", "ui")


class PolicyFields(TypedDict):
    """The validated keyword arguments of ``Policy``."""

    version: str
    effective_date: date
    announced_date: date
    categories: dict[Category, CategoryInfo]
    cookie_rules: tuple[tuple[str, Category], ...]
    unknown_category: Category
    privacy_policy_url: str
    consent_max_age_days: int
    child_directed: bool
    age_question: bool
    marketing_params: tuple[str, ...]
    ui: dict[str, dict[str, str]]
    cookie_knowledge: bool


def default_mapping() -> dict[str, Any]:
    """The shipped ``default_policy.toml``, parsed."""
    text = resources.files("cookiegate").joinpath("default_policy.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def site_mapping(path: str | Path) -> dict[str, Any]:
    """A site's TOML, laid over the default unless it says ``extend_default = false``."""
    with open(path, "rb") as handle:
        try:
            site = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    if site.get("extend_default", True):
        return overlay(default_mapping(), site)
    return site


def overlay(base: Mapping[str, Any], site: Mapping[str, Any]) -> dict[str, Any]:
    """Lay a site's policy over the default: scalars and texts replace, cookie rules move to the site's."""
    merged: dict[str, Any] = {k: v for k, v in base.items() if k not in _MERGED_SECTIONS}
    merged.update({k: v for k, v in site.items() if k not in _MERGED_SECTIONS})
    for section in ("categories", "ui"):
        tables = {key: dict(value) for key, value in base.get(section, {}).items()}
        for key, value in site.get(section, {}).items():
            tables.setdefault(key, {}).update(value)
        merged[section] = tables
    cookies: dict[str, list[str]] = {key: list(value) for key, value in base.get("cookies", {}).items()}
    for key, patterns in site.get("cookies", {}).items():
        if not isinstance(patterns, list):
            cookies[key] = patterns  # policy_fields names the type error
            continue
        # A pattern the site classifies leaves the default's category, so the site's word is final.
        for other in cookies.values():
            if isinstance(other, list):
                other[:] = [p for p in other if p not in patterns]
        cookies.setdefault(key, []).extend(patterns)
    merged["cookies"] = cookies
    return merged


def policy_fields(data: Mapping[str, Any]) -> PolicyFields:
    """Validate parsed TOML into ``Policy``'s arguments; raises ValueError naming the field to fix."""
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError("policy: 'version' must be a non-empty string, e.g. version = \"2026-11-01\"")
    effective = _date(data, "effective_date", version)
    unknown = data.get("unknown_category", "targeting")
    if not is_category(unknown):
        raise ValueError(f"policy: unknown_category must be one of {CATEGORIES}, not {unknown!r}")
    max_age = data.get("consent_max_age_days", 183)
    if not isinstance(max_age, int) or isinstance(max_age, bool):
        raise ValueError(f"policy: consent_max_age_days must be a whole number of days, not {max_age!r}")
    return PolicyFields(
        version=version,
        effective_date=effective,
        announced_date=_date(data, "announced_date", effective),
        categories=_categories(data.get("categories", {})),
        cookie_rules=_cookie_rules(data.get("cookies", {})),
        unknown_category=unknown,
        privacy_policy_url=str(data.get("privacy_policy_url", "/privacy")),
        consent_max_age_days=max_age,
        child_directed=bool(data.get("child_directed", False)),
        age_question=bool(data.get("age_question", True)),
        marketing_params=_marketing_params(data.get("marketing_params", DEFAULT_MARKETING_PARAMS)),
        ui=_ui(data.get("ui", {})),
        cookie_knowledge=bool(data.get("cookie_knowledge", True)),
    )


def _date(data: Mapping[str, Any], key: str, default: object) -> date:
    raw = data.get(key, default)
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError as exc:
        raise ValueError(f"policy: {key} {raw!r} is not a YYYY-MM-DD date") from exc


def _categories(raw_categories: object) -> dict[Category, CategoryInfo]:
    if not isinstance(raw_categories, Mapping):
        raise ValueError("policy: [categories] must be a table of [categories.<name>] tables")
    categories: dict[Category, CategoryInfo] = {}
    for key in CATEGORIES:
        raw = raw_categories.get(key)
        if not isinstance(raw, Mapping):
            raise ValueError(f"policy: [categories.{key}] is missing")
        texts = {locale: _category_text(key, locale, raw[locale]) for locale in LOCALES if raw.get(locale) is not None}
        if not texts:
            raise ValueError(f"policy: [categories.{key}] needs a [categories.{key}.ko] or .en table")
        categories[key] = CategoryInfo(key, texts, required=key == "necessary")
    return categories


def _category_text(key: str, locale: str, entry: object) -> CategoryText:
    if not isinstance(entry, Mapping):
        raise ValueError(f"policy: [categories.{key}.{locale}] must be a table with {list(TEXT_FIELDS)}")
    absent = [f for f in TEXT_FIELDS if not isinstance(entry.get(f), str)]
    if absent:
        raise ValueError(f"policy: [categories.{key}.{locale}] needs text for {absent}")
    return CategoryText(**{f: entry[f] for f in TEXT_FIELDS})


def _cookie_rules(cookies: object) -> tuple[tuple[str, Category], ...]:
    if not isinstance(cookies, Mapping):
        raise ValueError('policy: [cookies] must map categories to lists of names, e.g. analytics = ["_ga"]')
    rules: list[tuple[str, Category]] = []
    for category, patterns in cookies.items():
        if not is_category(category):
            raise ValueError(f"policy: [cookies] key {category!r} is not one of {CATEGORIES}")
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"policy: [cookies] {category} must be a list of cookie name patterns")
        rules.extend((pattern, category) for pattern in patterns)
    return tuple(rules)


def _marketing_params(params: object) -> tuple[str, ...]:
    # A bare string would otherwise become one parameter per character.
    if not isinstance(params, list | tuple) or not all(isinstance(p, str) and p for p in params):
        raise ValueError('policy: marketing_params must be a list of parameter names, e.g. ["utm_*", "gclid"]')
    return tuple(params)


def _ui(ui: object) -> dict[str, dict[str, str]]:
    if not isinstance(ui, Mapping) or not all(
        isinstance(table, Mapping) and all(isinstance(v, str) for v in table.values()) for table in ui.values()
    ):
        raise ValueError("policy: [ui.<locale>] tables must map text keys to strings")
    return {str(locale): dict(table) for locale, table in ui.items()}

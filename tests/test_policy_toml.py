"""Reading a policy from TOML: a site's file over the default, and errors that say what to fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cookiegate import Policy
from cookiegate.policy_toml import overlay, policy_fields


def test_site_policy_overrides_default_rules(tmp_path: Path) -> None:
    path = tmp_path / "cookiegate.toml"
    path.write_text(
        """
version = "2027-03-01"
effective_date = "2027-03-15"
unknown_category = "functional"
[cookies]
analytics = ["_fbp"]
functional = ["pref_*", "ui-[ab]?"]
[categories.targeting.ko]
name = "광고"
description = "d"
purpose = "p"
items = "i"
retention = "r"
refusal_notice = "n"
""",
        encoding="utf-8",
    )
    policy = Policy.load(path)
    assert policy.version == "2027-03-01"
    assert policy.effective_date.isoformat() == "2027-03-15"
    assert policy.classify("_fbp") == "analytics"
    assert policy.classify("pref_theme") == "functional"
    assert policy.classify("ui-a1") == "functional"
    assert policy.classify("ui-c1") == "functional"  # unknown → the site's choice
    assert policy.classify("_ga") == "analytics"  # defaults kept
    assert policy.texts("ko")["targeting"].name == "광고"
    assert policy.texts("en")["targeting"].name == "Targeting and advertising"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": ""}, "version"),
        ({"effective_date": "next week"}, "effective_date"),
        ({"unknown_category": "marketing"}, "unknown_category"),
        ({"cookies": {"marketing": ["x"]}}, "marketing"),
        ({"cookies": {"analytics": "x"}}, "list"),
        ({"cookies": {"analytics": [""]}}, "empty"),
        ({"cookies": ["_ga"]}, r"\[cookies\] must map"),
        ({"categories": "all"}, r"\[categories\] must be a table"),
        ({"categories": {}}, r"\[categories.necessary\] is missing"),
        ({"consent_max_age_days": "30"}, "whole number of days"),
        ({"consent_max_age_days": 0}, "at least 1"),
        ({"marketing_params": "utm_source"}, "marketing_params must be a list"),
        ({"announced_date": "2026-12-01"}, "announced_date"),
        ({"ui": {"ko": {"accept": 1}}}, r"\[ui.<locale>\]"),
    ],
)
def test_bad_policies_say_what_to_fix(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy.from_mapping({**minimal_mapping(), **change})


def test_broken_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("version = [", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid TOML"):
        Policy.load(path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [("text", "must be a table"), ({"name": "n"}, "needs text for"), ({}, "needs text for")],
)
def test_a_broken_category_text_names_the_table(entry: object, message: str) -> None:
    data = minimal_mapping()
    categories = data["categories"]
    assert isinstance(categories, dict)
    categories["analytics"] = {"ko": entry}
    with pytest.raises(ValueError, match=rf"\[categories.analytics.ko\] {message}"):
        policy_fields(data)


def test_a_site_that_does_not_extend_the_default_keeps_only_its_own_rules(tmp_path: Path) -> None:
    lines = ['version = "2027-01-01"', "extend_default = false", "[cookies]", 'functional = ["pref"]']
    for category in ("necessary", "functional", "analytics", "targeting"):
        lines.append(f"[categories.{category}.en]")
        lines.extend(f'{name} = "{category} {name}"' for name in _TEXT_FIELDS)
    path = tmp_path / "cookiegate.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    own = Policy.load(path)
    assert own.site_knows("pref") and dict(own.ui) == {}  # no banner texts of the default's either
    assert own.texts("ko")["analytics"].name == "analytics name"  # no Korean text: the English one
    path.write_text(path.read_text(encoding="utf-8").replace("extend_default = false", ""), encoding="utf-8")
    extended = Policy.load(path)
    assert extended.site_knows("pref") and set(extended.ui) == {"ko", "en"}
    assert extended.texts("ko")["analytics"].name != "analytics name"  # the default's Korean text


def test_a_pattern_the_site_classifies_leaves_the_defaults_category() -> None:
    base = {"cookies": {"targeting": ["_fbp", "IDE"], "analytics": ["_ga"]}, "version": "1"}
    merged = overlay(base, {"cookies": {"analytics": ["_fbp"]}, "version": "2"})
    assert merged["cookies"] == {"targeting": ["IDE"], "analytics": ["_ga", "_fbp"]}
    assert merged["version"] == "2"
    assert base["cookies"] == {"targeting": ["_fbp", "IDE"], "analytics": ["_ga"]}, "the default is not changed"


def test_dates_may_be_toml_dates_or_strings(tmp_path: Path) -> None:
    path = tmp_path / "cookiegate.toml"
    path.write_text('version = "v2"\neffective_date = 2027-02-01\nannounced_date = "2027-01-20"\n', encoding="utf-8")
    policy = Policy.load(path)
    assert (policy.effective_date.isoformat(), policy.announced_date) == ("2027-02-01", date(2027, 1, 20))


_TEXT_FIELDS = ("name", "description", "purpose", "items", "retention", "refusal_notice")


def minimal_mapping() -> dict[str, object]:
    """The least a policy needs: a version, a date and one text per category."""
    text = {"name": "n", "description": "d", "purpose": "p", "items": "i", "retention": "r", "refusal_notice": "x"}
    return {
        "version": "1",
        "effective_date": "2026-11-01",
        "categories": {c: {"en": text} for c in ("necessary", "functional", "analytics", "targeting")},
    }

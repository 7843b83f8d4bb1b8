"""Policy: classification of cookie names, loading a site's TOML over the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from cookiegate import Policy


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("session", "necessary"),
        ("sessionid", "necessary"),
        ("csrftoken", "necessary"),
        ("XSRF-TOKEN", "necessary"),
        ("JSESSIONID", "necessary"),
        ("PHPSESSID", "necessary"),
        ("cookiegate", "necessary"),
        ("wordpress_logged_in_abc", "necessary"),
        ("lang", "functional"),
        ("_ga", "analytics"),
        ("_ga_QWERTY123", "analytics"),
        ("_gid", "analytics"),
        ("_hjSession_12345", "analytics"),
        ("_hjSessionUser_9", "analytics"),
        ("_pk_id.1.1fff", "analytics"),
        ("_clck", "analytics"),
        ("mp_abc_mixpanel", "analytics"),
        ("ajs_anonymous_id", "analytics"),
        ("AMCV_ABC%40AdobeOrg", "targeting"),
        ("__hstc", "targeting"),
        ("wcs_bt", "analytics"),
        ("_gcl_au", "targeting"),
        ("IDE", "targeting"),
        ("_fbp", "targeting"),
        ("_fbc", "targeting"),
        ("_uetsid", "targeting"),
        ("MUID", "targeting"),
        ("li_fat_id", "targeting"),
        ("_ttp", "targeting"),
        ("_pinterest_ct_ua", "targeting"),
        ("_scid", "targeting"),
        ("_rdt_uuid", "targeting"),
        ("cto_bundle", "targeting"),
        ("NNB", "targeting"),
        ("_kau", "targeting"),
        ("never_heard_of_it", "targeting"),
        ("", "targeting"),
    ],
)
def test_default_policy_classifies_well_known_cookies(name: str, category: str) -> None:
    assert Policy.default().classify(name) == category


def test_names_are_case_sensitive_and_prefixes_need_the_whole_prefix() -> None:
    policy = Policy.default()
    assert policy.classify("CSRFTOKEN") == "targeting"  # csrftoken (Django) is necessary
    assert policy.classify("_ga_") == "analytics"
    assert policy.classify("_g") == "targeting"


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


def test_longer_prefix_wins_and_exact_beats_prefix() -> None:
    policy = Policy.from_mapping(
        {
            **_minimal(),
            "cookies": {"analytics": ["ab*", "abcd"], "functional": ["abc*"], "necessary": ["x?z"]},
        }
    )
    assert policy.classify("abz") == "analytics"
    assert policy.classify("abcz") == "functional"
    assert policy.classify("abcd") == "analytics"
    assert policy.classify("xyz") == "necessary"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": ""}, "version"),
        ({"effective_date": "next week"}, "effective_date"),
        ({"unknown_category": "marketing"}, "unknown_category"),
        ({"cookies": {"marketing": ["x"]}}, "marketing"),
        ({"cookies": {"analytics": "x"}}, "list"),
        ({"cookies": {"analytics": [""]}}, "empty"),
    ],
)
def test_bad_policies_say_what_to_fix(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy.from_mapping({**_minimal(), **change})


def test_broken_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("version = [", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid TOML"):
        Policy.load(path)


def test_public_document_has_everything_the_banner_shows() -> None:
    document = Policy.default().public_document("en")
    assert document["version"] and document["effective_date"]
    for category in document["categories"]:
        for field in ("name", "description", "purpose", "items", "retention", "refusal_notice"):
            assert category[field]


def _minimal() -> dict[str, object]:
    text = {"name": "n", "description": "d", "purpose": "p", "items": "i", "retention": "r", "refusal_notice": "x"}
    return {
        "version": "1",
        "effective_date": "2026-11-01",
        "categories": {c: {"en": text} for c in ("necessary", "functional", "analytics", "targeting")},
    }

"""Policy: classification of cookie names (the hot path) and what the banner is given."""

from __future__ import annotations

import pytest

from cookiegate import Policy
from tests.test_policy_toml import minimal_mapping


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


def test_longer_prefix_wins_and_exact_beats_prefix() -> None:
    policy = Policy.from_mapping(
        {
            **minimal_mapping(),
            "cookies": {"analytics": ["ab*", "abcd"], "functional": ["abc*"], "necessary": ["x?z"]},
        }
    )
    assert policy.classify("abz") == "analytics"
    assert policy.classify("abcz") == "functional"
    assert policy.classify("abcd") == "analytics"
    assert policy.classify("xyz") == "necessary"


def test_public_document_has_everything_the_banner_shows() -> None:
    document = Policy.default().public_document("en")
    assert document["version"] and document["effective_date"]
    for category in document["categories"]:
        for field in ("name", "description", "purpose", "items", "retention", "refusal_notice"):
            assert category[field]

"""A visitor's consent: what GPC and age take away, and what no consent allows."""

from __future__ import annotations

from cookiegate.consent import narrow, new_consent, no_consent


def test_narrow_removes_targeting_for_gpc_and_minors() -> None:
    everything = new_consent(["functional", "analytics", "targeting"], version="v1", under14=False)
    assert narrow(everything, gpc=False, minor=False) is everything
    assert "targeting" not in narrow(everything, gpc=True, minor=False).granted
    assert "targeting" not in narrow(everything, gpc=False, minor=True).granted
    child = new_consent(["targeting"], version="v1", under14=True)
    assert narrow(child, gpc=False, minor=False).granted == frozenset({"necessary"})


def test_no_consent_is_necessary_only() -> None:
    assert no_consent("v1").granted == frozenset({"necessary"})
    assert not no_consent("v1").chosen

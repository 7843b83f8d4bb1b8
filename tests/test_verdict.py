"""The request side: one header scan, the bounded caches around ``judge`` and the scope the app gets."""

from __future__ import annotations

import time

import pytest

from cookiegate.consent import new_consent, no_consent
from cookiegate.consent_cookie import ConsentCodec
from cookiegate.policy import Policy
from cookiegate.policy_toml import default_mapping
from cookiegate.verdict import (
    CATEGORY_CACHE_SIZE,
    VERDICT_CACHE_SIZE,
    RequestFacts,
    Verdicts,
    get_consent,
)

KEY = "verdict-test-key-0123456789abcdef"
POLICY = Policy.default()


def verdicts() -> Verdicts:
    codec = ConsentCodec([KEY], version=POLICY.version, max_age_seconds=3600)
    return Verdicts(POLICY, codec, no_consent(POLICY.version))


def token(*granted: str, under14: bool = False) -> bytes:
    codec = ConsentCodec([KEY], version=POLICY.version, max_age_seconds=3600)
    return codec.encode(new_consent(granted, version=POLICY.version, under14=under14)).encode()


def test_judge_narrows_accept_all_for_gpc() -> None:
    all_token = token("functional", "analytics", "targeting")
    verdict = verdicts().verdict(b"cookiegate=" + all_token + b"; _fbp=1; _ga=2", True, False)
    assert "targeting" not in verdict.consent.granted and verdict.consent.gpc
    assert verdict.blocked == ("_fbp",)


def test_nothing_blocked_leaves_the_header_as_sent() -> None:
    header = b"cookiegate=" + token("functional", "analytics", "targeting") + b"; _fbp=1"
    verdict = verdicts().verdict(header, False, False)
    assert verdict.kept is None and not verdict.blocked


def test_a_changed_cookie_value_reuses_the_verdict_of_the_same_names() -> None:
    cache = verdicts()
    consent_cookie = b"cookiegate=" + token("analytics")
    base = consent_cookie + b"; _fbp=1; _ga=1; _ga_XYZ=GS1.1.%d"
    first = cache.verdict(base % 1, False, False)
    second = cache.verdict(base % 2, False, False)
    assert second.consent is first.consent and second.blocked == ("_fbp",)
    assert second.kept == consent_cookie + b"; _ga=1; _ga_XYZ=GS1.1.2"
    assert first.kept is not None and first.kept.endswith(b"GS1.1.1")
    # Another consent token (another visitor) with the same names is judged on its own.
    other = cache.verdict(
        (b"cookiegate=" + token("targeting") + b"; _fbp=1; _ga=1; _ga_XYZ=GS1.1.%d") % 3, False, False
    )
    assert other.blocked == ("_ga", "_ga_XYZ")


def test_a_ga4_hit_counter_reuses_a_verdict_only_while_nothing_is_blocked_or_dropped() -> None:
    cache = verdicts()
    everything = b"cookiegate=" + token("functional", "analytics", "targeting") + b"; session=a; _ga_XYZ=GS1.1.%b"
    first = cache.verdict(everything % b"1", False, False)
    assert cache.verdict(everything % b"2", False, False) is first  # no parse: the same verdict object
    # A value a ";"-splitter and SimpleCookie read differently is judged in full, and dropped.
    folded = cache.verdict(everything % b"3,IDE=1", False, False)
    assert folded.kept is not None and b"IDE" not in folded.kept
    # GPC narrows the same header: its own verdict, never the accept-all one.
    assert cache.verdict(everything % b"4", True, False).consent.gpc


def test_a_childs_ga4_hit_counter_reuses_the_verdict_that_blocks_it() -> None:
    cache = verdicts()
    child = b"cookiegate=" + token("analytics", under14=True) + b"; session=a; _ga_XYZ=GS1.1.%b; lang=ko"
    first = cache.verdict(child % b"1", False, False)
    assert "_ga_XYZ" in first.blocked and first.kept is not None and b"_ga_" not in first.kept
    assert cache.verdict(child % b"2", False, False) is first
    # A visitor whose analytics cookie the app gets: that value is theirs, so each header is judged.
    consent_cookie = b"cookiegate=" + token("analytics")
    adult = consent_cookie + b"; _fbp=1; _ga_XYZ=GS1.1.%b"
    cache.verdict(adult % b"1", False, False)
    assert cache.verdict(adult % b"2", False, False).kept == consent_cookie + b"; _ga_XYZ=GS1.1.2"


def test_a_ga4_hit_counter_the_app_gets_beside_a_blocked_cookie_keeps_its_own_value_on_every_view() -> None:
    cache = verdicts()
    consent_cookie = b"cookiegate=" + token("functional", "analytics", "targeting")
    header = consent_cookie + b"; session=a; _fbp=1; _ga_A=GS1.1.%b; lang=ko; _ga_B=GS1.1.%b"
    first = cache.verdict(header % (b"1", b"9"), True, False)  # GPC: the targeting _fbp is blocked
    assert first.blocked == ("_fbp",)
    for hits in (b"2", b"3", b"2", b"40"):
        verdict = cache.verdict(header % (hits, b"9" + hits), True, False)
        assert verdict.blocked is first.blocked and verdict.consent is first.consent
        assert verdict.kept == consent_cookie + b"; session=a; _ga_A=GS1.1.%b; lang=ko; _ga_B=GS1.1.9%b" % (
            hits,
            hits,
        )
    # The same steady form with a value a ";"-splitter and SimpleCookie read differently: judged in full.
    folded = cache.verdict(header % (b"5,IDE=1", b"9"), True, False)
    assert folded.kept is not None and b"IDE" not in folded.kept and b"_ga_A" not in folded.kept
    # Without GPC the same header is another verdict: nothing blocked, the header as sent.
    assert cache.verdict(header % (b"6", b"9"), False, False).kept is None


def test_a_blocked_ga4_cookie_beside_a_kept_one_gets_each_header_its_own_values() -> None:
    mapping = default_mapping()
    rules = {key: list(patterns) for key, patterns in mapping.get("cookies", {}).items()}
    rules.setdefault("targeting", []).append("_ga_ADS")  # a site's own rule: this stream is advertising
    policy = Policy.from_mapping({**mapping, "cookies": rules})
    codec = ConsentCodec([KEY], version=policy.version, max_age_seconds=3600)
    cache = Verdicts(policy, codec, no_consent(policy.version))
    consent_cookie = b"cookiegate=" + token("functional", "analytics", "targeting")
    header = consent_cookie + b"; _ga_ADS=GS1.1.%b; _ga_A=GS1.1.%b"
    for hits in (b"1", b"2", b"3"):
        verdict = cache.verdict(header % (b"7" + hits, hits), True, False)  # GPC: _ga_ADS blocked, _ga_A kept
        assert verdict.blocked == ("_ga_ADS",)
        assert verdict.kept == consent_cookie + b"; _ga_A=GS1.1.%b" % hits


def test_a_shape_never_hands_one_visitors_cookies_to_another() -> None:
    cache = verdicts()
    # Visitor A: nothing blocked (a necessary cookie), but a malformed pair dropped, so A's header is rebuilt.
    first = cache.verdict(b'session=AAA; x="unterminated', False, False)
    assert first.kept == b"session=AAA"
    # Visitor B: the same cookie names (the same shape), a clean header: B's app gets B's header, not A's.
    second = cache.verdict(b"session=BBB", False, False)
    assert second.kept is None
    scope = {"type": "http", "path": "/", "headers": [(b"cookie", b"session=CCC")], "query_string": b""}
    cache.resolve(scope, RequestFacts())
    assert scope["headers"] == [(b"cookie", b"session=CCC")]


def test_the_verdict_caches_stay_full_at_their_bounds_under_new_visitors() -> None:
    cache = verdicts()
    for n in range(VERDICT_CACHE_SIZE + 10):
        cache.verdict(b"_ga=%d" % n, False, False)  # a new header of a known shape
        cache.verdict(b"x%d=1" % n, False, False)  # a new shape, and a new cookie name
    # Full, not emptied: the oldest entries went one by one (a cleared cache makes memory a sawtooth, #11).
    assert len(cache._verdicts) == VERDICT_CACHE_SIZE
    assert len(cache._shapes) == VERDICT_CACHE_SIZE
    assert len(cache.categories) == CATEGORY_CACHE_SIZE
    assert b"x%d=1" % (VERDICT_CACHE_SIZE + 9) in cache._verdicts


def test_resolve_edits_the_scope_in_place_only_where_needed() -> None:
    cache = verdicts()
    headers = [(b"host", b"x"), (b"cookie", b"session=a")]
    scope = {"type": "http", "path": "/", "headers": headers, "query_string": b"utm_source=x&q=1"}
    cache.resolve(scope, RequestFacts())
    assert scope["headers"] is headers  # nothing blocked: the server's list, untouched
    assert scope["query_string"] == b"utm_source=x&q=1"
    assert get_consent(scope).granted == frozenset({"necessary"})

    child = {
        "type": "websocket",
        "path": "/ws",
        "headers": [(b"cookie", b"_fbp=1; session=a")],
        "query_string": b"utm_source=x&q=1",
    }
    codec = ConsentCodec([KEY], version=POLICY.version, max_age_seconds=3600)
    hooked = Verdicts(POLICY, codec, no_consent(POLICY.version), minor_hook=lambda s: True)
    hooked.resolve(child, RequestFacts())
    assert child["headers"] == [(b"cookie", b"session=a")]
    assert child["query_string"] == b"q=1"
    assert get_consent(child).minor


def test_an_expired_cached_verdict_is_judged_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = verdicts()
    header = b"cookiegate=" + token("analytics")
    assert "analytics" in cache.verdict(header, False, False).consent.granted
    later = time.time() + 7200
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr("cookiegate.verdict._time", lambda: later)  # the module's own alias of time.time
    assert cache.verdict(header, False, False).consent.granted == frozenset({"necessary"})


def test_one_header_gets_its_own_verdict_with_gpc_and_as_a_minor_in_either_order() -> None:
    header = b"cookiegate=" + token("functional", "analytics", "targeting") + b"; _fbp=fb.1.2; session=a"
    for order in ((False, False), (True, False), (False, True)), ((False, True), (True, False), (False, False)):
        cache = verdicts()
        results = {(gpc, minor): cache.verdict(header, gpc, minor) for gpc, minor in order}
        assert results[(False, False)].blocked == ()  # accept all, no GPC: the app gets everything
        assert results[(True, False)].blocked == ("_fbp",)  # GPC: no targeting
        assert results[(False, True)].blocked == ("_fbp",)  # a minor: no targeting
        assert not results[(True, False)].consent.granted & {"targeting"}

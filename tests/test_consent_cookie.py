"""The signed consent cookie: round trip, rotation, expiry, itsdangerous' format, the verified-token bound."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from itsdangerous import TimestampSigner

from cookiegate.consent import new_consent, no_consent
from cookiegate.consent_cookie import _CACHE_LIMIT, ConsentCodec

KEY = "k" * 32


def codec(*keys: str, version: str = "v1", max_age: int = 3600) -> ConsentCodec:
    return ConsentCodec(list(keys) or [KEY], version=version, max_age_seconds=max_age)


def test_round_trip() -> None:
    consent = new_consent(["analytics", "functional"], version="v1", under14=True)
    decoded = codec().decode(codec().encode(consent).encode())
    assert decoded is not None
    assert decoded.granted == frozenset({"necessary", "analytics", "functional"})
    assert decoded.under14 and decoded.chosen and decoded.consent_id == consent.consent_id


def test_signature_time_bounds_validity() -> None:
    consent = new_consent(["analytics"], version="v1", under14=False)
    token = codec().encode(consent).encode()
    checker = codec()
    assert checker.decode(token, now=consent.issued_at + 3000) is not None
    assert checker.decode(token, now=consent.issued_at + 4000) is None


def test_other_version_is_no_choice_but_keeps_the_id() -> None:
    given = new_consent(["targeting"], version="v1", under14=True)
    renewal = codec(version="v2").decode(codec().encode(given).encode())
    assert renewal is not None
    assert (renewal.chosen, renewal.granted, renewal.consent_id) == (False, frozenset({"necessary"}), given.consent_id)
    assert renewal.under14


def test_other_key_is_none() -> None:
    token = codec().encode(new_consent([], version="v1", under14=False)).encode()
    assert codec("z" * 32).decode(token) is None
    assert codec("z" * 32, KEY).decode(token) is not None


def test_tokens_are_itsdangerous_default_tokens_both_ways() -> None:
    """Cookies issued before the signer was made cheaper still verify, and a rollback still reads new ones."""
    old, new = "o" * 32, "n" * 32
    default = TimestampSigner([old.encode(), new.encode()], salt="cookiegate.consent.v1")
    issued = codec(old, new).encode(new_consent(["analytics"], version="v1", under14=False)).encode()
    assert default.unsign(issued) == issued.rsplit(b".", 2)[0]
    earlier = TimestampSigner([old.encode()], salt="cookiegate.consent.v1").sign(issued.rsplit(b".", 2)[0])
    decoded = codec(old, new).decode(earlier)
    assert decoded is not None and decoded.granted == frozenset({"necessary", "analytics"})
    assert codec(new).decode(earlier) is None


@pytest.mark.parametrize("keys", [[], "a-single-string-key-xxxxxxx", ["short"]])
def test_bad_keys_are_refused(keys: object) -> None:
    with pytest.raises(ValueError):
        ConsentCodec(keys, version="v1", max_age_seconds=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("cached_first", [False, True])
def test_an_expired_childs_consent_still_says_under14(cached_first: bool) -> None:
    consent = new_consent(["analytics", "targeting"], version="v1", under14=True)
    token = codec().encode(consent).encode()
    checker = codec()
    if cached_first:
        assert checker.decode(token, now=consent.issued_at + 10) is not None  # cached while valid
    stale = checker.decode(token, now=consent.issued_at + 4000)
    assert stale is not None
    assert stale.under14 and not stale.chosen and stale.granted == {"necessary"}


def test_an_expired_adults_consent_is_no_consent_cached_or_not() -> None:
    consent = new_consent(["analytics"], version="v1", under14=False)
    token = codec().encode(consent).encode()
    checker = codec()
    assert checker.decode(token, now=consent.issued_at + 10) is not None
    assert checker.decode(token, now=consent.issued_at + 4000) is None
    assert codec().decode(token, now=consent.issued_at + 4000) is None


def test_an_old_version_childs_consent_stays_a_childs_on_every_decode() -> None:
    consent = new_consent(["targeting"], version="v0", under14=True)
    token = codec(version="v0").encode(consent).encode()
    checker = codec(version="v1")
    for _ in range(3):
        decoded = checker.decode(token)
        assert decoded is not None and decoded.under14 and not decoded.chosen


def test_a_not_chosen_state_round_trips_as_not_chosen() -> None:
    flagged = replace(no_consent("v1"), under14=True, issued_at=int(time.time()))
    decoded = codec().decode(codec().encode(flagged).encode())
    assert decoded is not None
    assert decoded.under14 and not decoded.chosen and decoded.consent_id is None


def test_only_an_earlier_choice_reads_as_a_renewal() -> None:
    """An old-version or expired choice is renewed by the next one; a state the gate signed without one is not."""
    given = new_consent(["analytics"], version="v1", under14=True)
    other_version = codec(version="v2").decode(codec().encode(given).encode())
    unchosen = replace(given, chosen=False)
    signed_without_choice = codec().decode(codec().encode(unchosen).encode())
    expired = codec().decode(codec().encode(given).encode(), now=time.time() + 400 * 86_400)
    assert other_version is not None and other_version.renewal
    assert expired is not None and expired.renewal
    assert signed_without_choice is not None and not signed_without_choice.renewal


def test_verified_tokens_stay_within_their_bound_and_the_newest_are_kept() -> None:
    checker = codec()
    genuine = codec().encode(new_consent(["analytics"], version="v1", under14=False)).encode()
    assert checker.decode(genuine) is not None
    for n in range(_CACHE_LIMIT + 10):
        assert checker.decode(b"forged.%d" % n) is None
    assert len(checker._cache) == _CACHE_LIMIT and genuine not in checker._cache
    assert b"forged.%d" % (_CACHE_LIMIT + 9) in checker._cache

"""Hostile consent cookies: forged, tampered, stale, tossed, oversized. None may grant what was not given."""

from __future__ import annotations

import base64
from pathlib import Path
from unittest import mock

import pytest
from itsdangerous import TimestampSigner

from cookiegate import CookieGate
from tests.hostile.harness import (
    ALL,
    KEY,
    POLICY,
    Outcome,
    allowed,
    assert_holds,
    consent_of,
    http_scope,
    make_gate,
    recording_app,
    run,
    token,
)

TRACKERS = b"_fbp=fb.1; _ga=GA1.1; session=s1; lang=ko"
NONE = allowed(None)


def _request(tmp_path: Path, cookie: bytes, query: bytes = b"") -> tuple[CookieGate, Outcome]:
    gate = make_gate(tmp_path, recording_app([(b"set-cookie", b"_fbp=new; Path=/")]))
    outcome = run(gate, http_scope(query=query, headers=[(b"cookie", cookie)]))
    return gate, outcome


def _signed(payload: bytes, key: str = KEY) -> bytes:
    signer = TimestampSigner([key.encode()], salt="cookiegate.consent.v1")
    return signer.sign(base64.urlsafe_b64encode(payload).rstrip(b"="))


VALID = token()


@pytest.mark.parametrize(
    "value",
    [
        # A signature character flipped in the middle: the last base64 character carries padding bits, and
        # four of its values decode to the same bytes (the token would stay valid 1 run in 16).
        VALID[:-5] + (b"A" if VALID[-5:-4] != b"A" else b"B") + VALID[-4:],
        b"e30" + VALID[VALID.index(b".") :],  # payload swapped for {}
        VALID.split(b".", 1)[0],  # signature cut off
        VALID + b"x",
        _signed(
            b'{"g":["necessary","functional","analytics","targeting"],"v":"x","id":"a","t":1,"u":false}',
            key="another-key-0123456789abcdef",
        ),
        b"",
        b"garbage",
        b"\xff\xfe\x00",
        b"..",
    ],
)
def test_forged_or_tampered_tokens_are_no_consent(tmp_path: Path, value: bytes) -> None:
    _, outcome = _request(tmp_path, TRACKERS + b"; cookiegate=" + value)
    assert_holds(outcome, NONE)
    assert not consent_of(outcome).chosen


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'"string"',
        b'{"g": "all", "v": "1", "id": "a", "t": 1}',
        b'{"g": ["marketing"], "v": "1", "id": "a", "t": 1}',
        b'{"g": ["targeting"], "id": 5, "t": 1}',
        b'{"g": ["targeting"], "id": "a", "t": "1"}',
        b'{"g": [["targeting"]], "id": "a", "t": 1}',
        b'{"g": ' + b"[" * 900 + b"]" * 900 + b', "id": "a", "t": 1}',
    ],
)
def test_signed_but_malformed_payloads_are_no_consent(tmp_path: Path, payload: bytes) -> None:
    _, outcome = _request(tmp_path, TRACKERS + b"; cookiegate=" + _signed(payload))
    assert_holds(outcome, NONE)
    assert consent_of(outcome).granted == {"necessary"}


@pytest.mark.parametrize(
    "order",
    [
        [b"forged", b"valid"],
        [b"valid", b"forged"],
        [b"other-version", b"forged"],
        [b"forged", b"forged"],
    ],
)
def test_tossed_duplicate_consent_cookies_grant_nothing_unsigned(tmp_path: Path, order: list[bytes]) -> None:
    values = {
        b"forged": b"cookiegate=" + _signed(b'{"g":["targeting"],"v":"1","id":"x","t":1}', key="tosser-key-0123456789"),
        b"valid": b"cookiegate=" + token(["analytics"]),
        b"other-version": b"cookiegate=" + token(ALL, version="0-old"),
    }
    cookie = b"; ".join([TRACKERS, *(values[v] for v in order)])
    _, outcome = _request(tmp_path, cookie)
    expected = allowed(["analytics"]) if b"valid" in order else NONE
    assert_holds(outcome, expected)
    assert consent_of(outcome).granted == expected


@pytest.mark.parametrize("size", [513, 4097, 20_000])
def test_oversized_tokens_are_no_consent_and_not_cached(tmp_path: Path, size: int) -> None:
    gate, outcome = _request(tmp_path, TRACKERS + b"; cookiegate=" + b"A" * size)
    assert_holds(outcome, NONE)
    assert all(len(t) <= 4096 for t in gate.codec._cache)


@pytest.mark.parametrize(
    "cookie",
    [
        b'cookiegate="' + VALID + b'"',
        b"cookiegate = " + VALID,
        b"  cookiegate=" + VALID + b"  ",
    ],
)
def test_quoted_or_spaced_consent_cookie_still_verifies(tmp_path: Path, cookie: bytes) -> None:
    _, outcome = _request(tmp_path, TRACKERS + b"; " + cookie)
    assert_holds(outcome, ALL)
    assert consent_of(outcome).chosen


@pytest.mark.parametrize(
    "name",
    [
        b"Cookiegate",
        b"COOKIEGATE",
        b"cookiegate[]",
        b"cookiegate%20",
        b"cookiegate.",
        b"_cookiegate",
        b"__Host-cookiegate",
    ],
)
def test_look_alike_consent_cookie_names_are_not_consent(tmp_path: Path, name: bytes) -> None:
    _, outcome = _request(tmp_path, TRACKERS + b"; " + name + b"=" + VALID)
    assert_holds(outcome, NONE)
    assert not consent_of(outcome).chosen


def _old_token(under14: bool) -> bytes:
    """A consent signed 400 days ago (past the policy's max age)."""
    past = 1_000_000_000.0
    with mock.patch("time.time", return_value=past):
        return token(ALL, under14=under14)


@pytest.mark.parametrize("kind", ["other-version", "expired"])
def test_a_stale_childs_consent_keeps_the_child_protected(tmp_path: Path, kind: str) -> None:
    stale = token(ALL, under14=True, version="0-old") if kind == "other-version" else _old_token(True)
    gate = make_gate(tmp_path, recording_app([(b"set-cookie", b"_fbp=new; Path=/")]))
    # Repeated with a changing GA value (as GA4 does per page view), so the decode cache is what answers
    # from the second request on: it once turned the child into an adult there.
    for i in range(3):
        cookie = TRACKERS + b"; _ga_X=GS1.%d; cookiegate=" % i + stale
        outcome = run(gate, http_scope(query=b"gclid=1&utm_source=x&q=1", headers=[(b"cookie", cookie)]))
        assert_holds(outcome, allowed(None, minor=True), minor=True)
        consent = consent_of(outcome)
        assert consent.under14 and consent.minor and not consent.chosen
        assert outcome.app_scope is not None and outcome.app_scope["query_string"] == b"q=1"


def test_a_stale_adults_consent_is_plain_no_consent(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, recording_app())
    cookie = TRACKERS + b"; cookiegate=" + _old_token(False)
    for _ in range(2):
        outcome = run(gate, http_scope(query=b"utm_source=x", headers=[(b"cookie", cookie)]))
        assert_holds(outcome, NONE)
        assert not consent_of(outcome).minor
        assert POLICY.version == consent_of(outcome).version

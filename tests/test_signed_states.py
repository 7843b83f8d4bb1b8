"""The consent states the gate signs without a choice: they decode as "not chosen" and keep what they carry."""

from __future__ import annotations

from cookiegate.consent import CONSENT_COOKIE, new_consent, no_consent
from cookiegate.consent_cookie import ConsentCodec, consent_set_cookie
from cookiegate.signed_states import gpc_receipt, remembered_minor

VERSION = "2026-01-01"


def codec() -> ConsentCodec:
    return ConsentCodec(["k" * 32], version=VERSION, max_age_seconds=86_400)


def token_of(set_cookie: bytes) -> bytes:
    assert set_cookie.startswith(CONSENT_COOKIE.encode() + b"=")
    return set_cookie.split(b";", 1)[0].split(b"=", 1)[1]


def test_a_gpc_receipt_is_a_fresh_id_that_grants_nothing_and_is_no_choice() -> None:
    first, second = gpc_receipt(no_consent(VERSION)), gpc_receipt(no_consent(VERSION))
    assert first.consent_id and second.consent_id and first.consent_id != second.consent_id
    decoded = codec().decode(codec().encode(first).encode())
    assert decoded is not None and decoded.consent_id == first.consent_id
    assert decoded.granted == frozenset({"necessary"}) and decoded.chosen is False


def test_a_remembered_minor_keeps_a_choice_without_targeting() -> None:
    chosen = new_consent(["analytics", "targeting"], version=VERSION, under14=False)
    cookie = consent_set_cookie(codec(), remembered_minor(chosen), max_age=600, secure=True)
    decoded = codec().decode(token_of(cookie))
    assert decoded is not None and decoded.under14 and decoded.chosen
    assert "targeting" not in decoded.granted and decoded.consent_id == chosen.consent_id


def test_a_remembered_minor_without_a_choice_stays_unchosen_and_a_child() -> None:
    cookie = consent_set_cookie(codec(), remembered_minor(no_consent(VERSION)), max_age=600, secure=False)
    assert b"Secure" not in cookie and b"Max-Age=600" in cookie
    decoded = codec().decode(token_of(cookie))
    assert decoded is not None and decoded.under14 and not decoded.chosen

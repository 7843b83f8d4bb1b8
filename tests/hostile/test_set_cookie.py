"""Hostile Set-Cookie headers from the app, the app's minor flag, and the API's own expiries."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.hostile.harness import (
    ALL,
    Outcome,
    allowed,
    assert_holds,
    consent_cookie,
    consent_of,
    http_scope,
    make_gate,
    recording_app,
    run,
)

NONE = allowed(None)
ANALYTICS = allowed(["analytics"])


def _respond(tmp_path: Path, headers: list[tuple[bytes, bytes]], cookie: bytes = b"") -> Outcome:
    gate = make_gate(tmp_path, recording_app(headers))
    request_headers = [(b"cookie", cookie)] if cookie else []
    return run(gate, http_scope(headers=request_headers))


@pytest.mark.parametrize("name", [b"set-cookie", b"Set-Cookie", b"SET-COOKIE", b"sEt-CoOkIe"])
def test_header_name_spellings(tmp_path: Path, name: bytes) -> None:
    outcome = _respond(tmp_path, [(name, b"_fbp=1; Path=/"), (name, b"session=s; Path=/")])
    assert_holds(outcome, NONE)
    assert outcome.stored_names() == ["session"]


@pytest.mark.parametrize(
    "value",
    [b"session", b"session; Path=/", b" _fbp =1", b"=_fbp=1", b"\t_fbp=1", b"_fbp\t=1", b"", b";", b"=;"],
)
def test_nameless_and_spaced_set_cookie(tmp_path: Path, value: bytes) -> None:
    assert_holds(_respond(tmp_path, [(b"set-cookie", value)]), NONE)


@pytest.mark.parametrize(
    "value",
    [
        b"_ga=1, _fbp=2",
        b"_ga=1,_fbp=2; Path=/",
        b"_ga=1 _fbp=2",
    ],
)
def test_folded_set_cookie_cannot_carry_a_second_cookie(tmp_path: Path, value: bytes) -> None:
    # Browsers do not split Set-Cookie on commas, but folding proxies and some clients do.
    outcome = _respond(tmp_path, [(b"set-cookie", value)], cookie=consent_cookie(["analytics"]))
    assert_holds(outcome, ANALYTICS)
    for stored in outcome.set_cookies():
        first = stored.split(b";", 1)[0]
        assert b"_fbp" not in first, stored


@pytest.mark.parametrize(
    "value",
    [b"_fbp=\xff\xfe", b"\xff=1", b"_fbp=1; Domain=\x00", b"_fbp=" + b"x" * 10_000, b"session=\x00"],
)
def test_binary_and_huge_set_cookie(tmp_path: Path, value: bytes) -> None:
    assert_holds(_respond(tmp_path, [(b"set-cookie", value)]), NONE)


def test_reject_all_keeps_the_apis_own_expiries(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, recording_app())
    body = orjson.dumps({"granted": [], "under14": False, "cookies": ["_fbp", "_ga"]})
    scope = http_scope(
        "/_cookiegate/consent",
        method="POST",
        headers=[(b"content-type", b"application/json"), (b"cookie", b"_fbp=1; _ga=2; session=s")],
    )
    outcome = run(gate, scope, body)
    assert outcome.status == 200
    answer = orjson.loads(outcome.body)
    assert set(answer["expired"]) >= {"_fbp", "_ga"}
    deletions = {v.split(b"=", 1)[0] for v in outcome.set_cookies() if b"Max-Age=0" in v}
    assert {b"_fbp", b"_ga"} <= deletions
    assert_holds(outcome, NONE)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"x-cookiegate-minor", b"1"),
        (b"X-Cookiegate-Minor", b"1"),
        (b"x-cookiegate-minor", b" TRUE "),
        (b"x-cookiegate-minor", b"yes"),
    ],
)
def test_app_minor_flag_spellings_gate_the_response(tmp_path: Path, name: bytes, value: bytes) -> None:
    outcome = _respond(
        tmp_path, [(name, value), (b"set-cookie", b"_fbp=1"), (b"set-cookie", b"_ga=1")], cookie=consent_cookie(ALL)
    )
    assert_holds(outcome, allowed(ALL, minor=True))
    assert not any(n.lower() == b"x-cookiegate-minor" for n, _ in outcome.headers)


def test_app_minor_flag_sticks_to_the_next_requests(tmp_path: Path) -> None:
    """The app's flag is remembered in the signed consent: the child's next request is protected too."""
    flagging = recording_app([(b"x-cookiegate-minor", b"1")])
    gate = make_gate(tmp_path, flagging)
    first = run(gate, http_scope(headers=[(b"cookie", consent_cookie(ALL))]))
    renewed = [v.split(b";", 1)[0] for v in first.set_cookies() if v.startswith(b"cookiegate=")]
    assert renewed, "the gate must re-sign the consent with the child's flag"
    plain = make_gate(tmp_path, recording_app([(b"set-cookie", b"_fbp=1")]))
    second = run(plain, http_scope(query=b"gclid=1&q=1", headers=[(b"cookie", renewed[0] + b"; _fbp=1")]))
    assert_holds(second, allowed(ALL, minor=True), minor=True)
    assert consent_of(second).under14

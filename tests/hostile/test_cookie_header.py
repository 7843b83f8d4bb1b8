"""Hostile Cookie headers: smuggling through parser differences, odd bytes, splits and duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.harness import (
    ALL,
    Outcome,
    allowed,
    assert_holds,
    consent_cookie,
    http_scope,
    make_gate,
    recording_app,
    run,
)

NONE = allowed(None)
ANALYTICS = allowed(["analytics"])


def _run(tmp_path: Path, headers: list[tuple[bytes, bytes]]) -> Outcome:
    return run(make_gate(tmp_path, recording_app()), http_scope(headers=headers))


@pytest.mark.parametrize(
    "cookie",
    [
        b"session=a _fbp=x, IDE=y",
        b"session=a,_fbp=x",
        b"session=a, _fbp=x",
        b"session=a\t_fbp=x",
        b"session=a\x0b_fbp=x",
        b'session="a" _fbp=x',
        b'session="a; _fbp=x"',
        b'session="a\\" _fbp=x"',
        b"session=a\\;_fbp=x",
        b"lang=ko _gcl_au=1",
        b"session=a\r\n_fbp=x",
    ],
)
def test_smuggling_a_tracker_inside_a_necessary_cookie(tmp_path: Path, cookie: bytes) -> None:
    outcome = _run(tmp_path, [(b"cookie", cookie)])
    assert_holds(outcome, NONE)


@pytest.mark.parametrize(
    "cookie",
    [
        b"session=\x00; _fbp=1",
        b"\x00=1; session=s",
        b"_fbp\x00=1; session=s",
        b"session=\xff\xfe; _ga=\x80",
        b"\xc3\xa9=1; _fbp=\xe2\x80\xa8",
        b"session=" + bytes(range(256)),
        b"=",
        b";;;;;;",
        b"=;=;=",
    ],
)
def test_control_and_binary_bytes(tmp_path: Path, cookie: bytes) -> None:
    assert_holds(_run(tmp_path, [(b"cookie", cookie)]), NONE)
    assert_holds(_run(tmp_path, [(b"cookie", cookie + b"; " + consent_cookie(["analytics"]))]), ANALYTICS)


@pytest.mark.parametrize(
    "cookie",
    [b"_fbp", b"session", b"cookiegate", b"=_fbp", b"=session", b" =x", b"session; _fbp"],
)
def test_nameless_cookies(tmp_path: Path, cookie: bytes) -> None:
    # A chunk without "=" is a cookie with an empty name: Starlette reads it as {"": value}.
    outcome = _run(tmp_path, [(b"cookie", cookie)])
    assert_holds(outcome, NONE)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"cookie", b"session=s"), (b"cookie", b"_fbp=1")],
        [(b"cookie", b"session=s; _fbp"), (b"cookie", b"=1")],
        [(b"cookie", b"session=s,"), (b"cookie", b"_fbp=1")],
        [(b"cookie", b"_ga=1")] * 50 + [(b"cookie", b"session=s")],
        [(b"cookie", consent_cookie(["analytics"])), (b"cookie", b"_fbp=1; _ga=2")],
    ],
)
def test_split_cookie_headers(tmp_path: Path, headers: list[tuple[bytes, bytes]]) -> None:
    granted = ANALYTICS if any(b"cookiegate=" in v for _, v in headers) else NONE
    assert_holds(_run(tmp_path, headers), granted)


@pytest.mark.parametrize(
    "cookie",
    [
        b"session=s; session=_fbp=1",
        b"_FBP=1; _Ga=2; SESSION=s",
        b"_fbp=1; _fbp=2; _fbp=3",
        b"session=s; Session=t; session =u",
    ],
)
def test_duplicates_and_case_variants(tmp_path: Path, cookie: bytes) -> None:
    assert_holds(_run(tmp_path, [(b"cookie", cookie)]), NONE)


@pytest.mark.parametrize(
    "cookie",
    [
        b"$Version=1; _fbp=1; $Path=/",
        b'$Version="1"; session="s"; $Path="/"; _fbp="1"',
        b"$Domain=.shop.test; session=s",
    ],
)
def test_rfc2965_attributes(tmp_path: Path, cookie: bytes) -> None:
    assert_holds(_run(tmp_path, [(b"cookie", cookie)]), NONE)


def test_well_formed_granted_cookies_reach_the_app_byte_for_byte(tmp_path: Path) -> None:
    consent = consent_cookie(ALL)
    cookie = b'session=s1; _ga=GA1.1.2=; prefs="a b"; ' + consent
    outcome = _run(tmp_path, [(b"cookie", cookie)])
    assert_holds(outcome, ALL)
    assert outcome.app_header(b"cookie") == [cookie]

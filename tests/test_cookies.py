"""Bytes-level Cookie header parsing: pairs in order, malformed chunks dropped, the cap, volatile values."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cookiegate.cookies import (
    MAX_COOKIE_PAIRS,
    _browser_pairs,
    cookie_pairs,
    cut_volatile_values,
    pair_value,
    parse_cookie_header,
    with_volatile_values,
)


def without_volatile_values(header: bytes) -> bytes | None:
    """The header's steady form: its cut pieces joined (what the verdict cache keys on), or None."""
    cut = cut_volatile_values(header)
    return None if cut is None else b"".join(cut[0])


def test_pairs_keep_order_and_raw_bytes() -> None:
    pairs = cookie_pairs(b'a=1;  b="two words" ;;c; =x; \xff=y')
    # "c" alone is the value of a cookie with an empty name (RFC 6265bis §5.7), as Starlette reads it.
    assert [name for name, _ in pairs] == [b"a", b"b", b"", b"", b"\xff"]
    assert pairs[1][1] == b'b="two words"'
    assert pair_value(pairs[1][1]) == b"two words"


@pytest.mark.parametrize(
    "chunk",
    [
        b"session=a _fbp=x, IDE=y",  # SimpleCookie splits on the space and finds _fbp and IDE
        b"session=a,_fbp=x",  # RFC 2965 parsers split on the comma
        b"session=a\t_fbp=x",
        b'session="a',  # unbalanced quote
        b'session="a\\"_fbp=x"',  # backslash escapes read differently by quoted-string parsers
        b"session=a\x00b",
        b"ses sion=1",
        b"a,_fbp=1",
    ],
)
def test_malformed_chunks_are_dropped_and_counted(chunk: bytes) -> None:
    parsed = parse_cookie_header(b"lang=ko; " + chunk + b"; ok=1")
    assert [name for name, _ in parsed.pairs] == [b"lang", b"ok"]
    assert parsed.dropped == 1
    assert SimpleCookie("; ".join(p.decode("latin-1") for _, p in parsed.pairs)).keys() == {"lang", "ok"}


def test_pairs_past_the_cap_are_dropped_not_passed() -> None:
    header = b"; ".join(b"n%d=v" % i for i in range(4000))
    parsed = parse_cookie_header(header)
    assert len(parsed.pairs) == MAX_COOKIE_PAIRS
    assert parsed.dropped >= 1
    assert parsed.pairs[-1][0] == b"n%d" % (MAX_COOKIE_PAIRS - 1)


@pytest.mark.parametrize(
    ("header", "steady"),
    [
        (b"a=1; _ga_XYZ=GS1.1.5.7; b=2", b"a=1; _ga_XYZ=; b=2"),
        (b"_ga_XYZ=GS1.1.5.7", b"_ga_XYZ="),
        (b"_ga_A=1;_ga_B=2", b"_ga_A=;_ga_B="),
        (b"a=x_ga_1; b=2", None),  # "_ga_" inside a value is not a cookie name
        (b"a=1; b=2", None),
        (b"a=1; _ga_XYZ=GS1 1", None),  # a space in the value: malformed, judged in full
        (b'a=1; _ga_XYZ="q"', None),
        (b"a=1; _ga_XYZ; b=2", None),  # no "=": the value of a nameless cookie
        (b"_ga_X=a,b", None),
        (b"_ga_X=a\\b", None),
        (b"_ga_X=a\x7fb; c=1", None),
        (b"_ga_X=ab ; c=1", None),  # a space before the separator belongs to the value
        (b"_ga_X=\xc3\xa9; c=1", b"_ga_X=; c=1"),  # octets past ASCII are judged with the header, as before
    ],
)
def test_volatile_values_are_cut_only_from_clean_ga4_pairs(header: bytes, steady: bytes | None) -> None:
    assert without_volatile_values(header) == steady


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from([b"_ga_", b"_ga", b"X", b"=", b"1.2", b"; ", b";", b" ", b",", b"\xc3"]), max_size=12))
def test_a_cut_header_comes_back_whole_and_takes_other_values_in_their_places(pieces: list[bytes]) -> None:
    header = b"".join(pieces)
    cut = cut_volatile_values(header)
    if cut is None:
        assert without_volatile_values(header) is None
        return
    fixed, values = cut
    assert len(fixed) == len(values) + 1 and b"".join(fixed) == without_volatile_values(header)
    assert with_volatile_values(fixed, values) == header
    other = with_volatile_values(fixed, [b"v%d" % n for n in range(len(values))])
    assert without_volatile_values(other) == without_volatile_values(header)
    assert cut_volatile_values(other) == (fixed, [b"v%d" % n for n in range(len(values))])


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"a", b"_ga", b"=", b"==", b"1", b"; ", b";", b" ", b"\t", b'"', b",", b"\xc3"]), max_size=14
    )
)
def test_a_browser_shaped_header_splits_as_the_general_way_does(pieces: list[bytes]) -> None:
    header = b"".join(pieces)
    # A trailing ";" adds only an empty chunk, and sends the header down the general split.
    assert parse_cookie_header(header) == parse_cookie_header(header + b";")


def test_a_browsers_header_takes_the_split_on_separators() -> None:
    header = b"cookiegate=tok.sig; _ga=GA1.1.1.2; lang=ko; =nameless; flag"
    assert _browser_pairs(header) == parse_cookie_header(header + b";")
    assert _browser_pairs(b"a=1;b=2") is None and _browser_pairs(b"a=1 ; b=2") is None


@pytest.mark.parametrize("count", [MAX_COOKIE_PAIRS, MAX_COOKIE_PAIRS + 1, 2 * MAX_COOKIE_PAIRS + 5, 4000])
def test_a_long_browser_header_is_capped_and_counted_as_the_general_way_does(count: int) -> None:
    header = b"; ".join(b"n%d=v" % i for i in range(count))
    assert _browser_pairs(header) == parse_cookie_header(header + b";")


@pytest.mark.parametrize("octet", range(256))
def test_a_volatile_value_is_cut_only_when_every_octet_is_a_cookie_octet(octet: int) -> None:
    header = b"_ga_X=a" + bytes([octet]) + b"b; c=1"
    unsafe = octet <= 0x20 or octet in (0x7F, 0x22, 0x2C, 0x5C)  # RFC 6265 §4.1.1 cookie-octet excludes these
    if octet == 0x3B:  # ";" ends the value: "b" is the next (nameless) pair
        assert without_volatile_values(header) == b"_ga_X=;b; c=1"
    elif unsafe:
        assert without_volatile_values(header) is None
    else:
        assert without_volatile_values(header) == b"_ga_X=; c=1"

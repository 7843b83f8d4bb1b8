"""Bytes-level Set-Cookie handling: the name a header sets, deletions, and the headers that delete cookies."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cookiegate.cookies import UNSAFE_OCTETS, well_formed_pair
from cookiegate.set_cookies import (
    MAX_EXPIRY_BYTES,
    expire_cookie,
    expiry_headers,
    is_deletion,
    set_cookie_name,
    stated_name,
)


def test_set_cookie_name() -> None:
    assert set_cookie_name(b"_ga=GA1.2; Path=/; Max-Age=10") == b"_ga"
    assert set_cookie_name(b" spaced = v") == b"spaced"
    assert set_cookie_name(b"session; Path=/") == b""  # browsers store this under the empty name


def test_expiry_deletes_in_a_browser_parseable_way() -> None:
    header = expire_cookie("_ga", domain=".shop.test").decode()
    parsed = SimpleCookie()
    parsed.load(header)
    assert parsed["_ga"]["max-age"] == "0"
    assert parsed["_ga"]["domain"] == ".shop.test"
    assert "Secure" in expire_cookie("__Host-id").decode()


def test_expiry_headers_cover_domains_and_skip_unsendable_names() -> None:
    headers = expiry_headers(["_ga", "_ga", "bad name", "__Host-x"], [".a.test", "b.test"], secure=False)
    values = [v.decode() for _, v in headers]
    assert len([v for v in values if v.startswith("_ga=")]) == 3
    assert not any(v.startswith("bad name") for v in values)
    assert [v for v in values if v.startswith("__Host-x")] and not any(
        "Domain" in v for v in values if v.startswith("__Host-x")
    )


def test_expiry_headers_stay_within_the_byte_budget() -> None:
    names = [f"tracker_{i}" for i in range(4000)]
    headers = expiry_headers(names, [".a.test", ".b.test"], secure=True)
    assert 0 < sum(len(n) + len(v) + 4 for n, v in headers) <= MAX_EXPIRY_BYTES + 512
    # Whole names only: each one expired for the host and both domains, in order.
    assert len(headers) % 3 == 0 and headers[0][1].startswith(b"tracker_0=")


@pytest.mark.parametrize(
    ("value", "deletes"),
    [
        (b"_fbp=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/", True),
        (b"_fbp=x; max-age = -5", True),
        (b"_fbp=x; Max-Age=0; Max-Age=100", False),  # the last Max-Age wins (RFC 6265 §5.3)
        (b"_fbp=x; Max-Age=100; Max-Age=0", True),
        (b"_fbp=x; Max-Age=0; note=max-age=5", True),  # "max-age" inside another attribute's value
        (b"max-age=5; Max-Age=0", True),  # a cookie named max-age
        (b"_fbp=x; Max-Age=7776000; Path=/; SameSite=lax", False),
        (b"_fbp=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT", False),  # Expires alone is not trusted
        (b"_fbp=1", False),
        (b"_ga=1, _fbp=2; Max-Age=0", False),
        (b"session", False),
        (b"session; Max-Age=0", False),  # no "=": the value of a nameless cookie, nothing named to delete
        (b"=v; Max-Age=0", True),  # the empty name, deleted
        (b"_fbp=x;\x0bMAX-AGE =0 ; Path=/", True),
        (b"_fbp=x; Max-Agee=0", False),
        (b"_fbp=x; max-age", False),
    ],
)
def test_is_deletion(value: bytes, deletes: bool) -> None:
    assert is_deletion(value) is deletes


@pytest.mark.parametrize("value", [b"_ga=1, _fbp=2", b"_ga=1 _fbp=2", b'_ga="1', b"_ga=\x00"])
def test_a_folded_or_malformed_set_cookie_is_judged_as_the_empty_name(value: bytes) -> None:
    assert set_cookie_name(value) == b""


def _spelled_out_is_deletion(value: bytes) -> bool:
    """RFC 6265 §5.3 read plainly: split the attributes, the last Max-Age wins (the byte loops must agree)."""
    found: bytes | None = None
    for raw in value.split(b";")[1:]:
        attribute = raw.lstrip()
        if attribute[:7].lower() != b"max-age":
            continue
        rest = attribute[7:].lstrip()
        if not rest:
            found = b""
        elif rest[:1] == b"=":
            found = rest[1:].strip()
    if found is None or not (found == b"0" or (found[:1] == b"-" and found[1:].isdigit())):
        return False
    if b"=" not in value.split(b";")[0]:
        return False
    return set_cookie_name(value) == stated_name(value)


def _spelled_out_name(value: bytes) -> bytes:
    name = stated_name(value)
    pair = value.split(b";")[0]
    if name and UNSAFE_OCTETS.search(pair.strip()) is not None:
        return name if well_formed_pair(name, pair.partition(b"=")[2].strip()) else b""
    return name


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"_ga", b"=", b";", b" ", b"\t", b"\x0b", b",", b'"', b"\\", b"\x00", b"\x7f",
                                 b"\xe9", b"0", b"7", b"-", b"Max-Age", b"mAx-aGe", b"max-ag", b"Path=/"]),
                max_size=14).map(b"".join))  # fmt: skip
def test_the_byte_loops_read_set_cookie_as_the_rfc_spelled_out(value: bytes) -> None:
    assert is_deletion(value) == _spelled_out_is_deletion(value)
    assert set_cookie_name(value) == _spelled_out_name(value)

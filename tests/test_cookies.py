"""Bytes-level cookie parsing and the Set-Cookie headers that delete cookies."""

from __future__ import annotations

from http.cookies import SimpleCookie

from cookiegate.cookies import cookie_pairs, expire_cookie, expiry_headers, pair_value, set_cookie_name


def test_pairs_keep_order_and_raw_bytes() -> None:
    pairs = cookie_pairs(b'a=1;  b="two words" ;;c; =x; \xff=y')
    assert [name for name, _ in pairs] == [b"a", b"b", b"c", b"", b"\xff"]
    assert pairs[1][1] == b'b="two words"'
    assert pair_value(pairs[1][1]) == b"two words"


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

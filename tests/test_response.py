"""``rewrite_head``: Set-Cookie filtering, Vary only where consent decides, expiries, the app's minor flag."""

from __future__ import annotations

import pytest

from cookiegate.policy import CATEGORIES, Category
from cookiegate.response import header_kind, rewrite_head

CATEGORY: dict[bytes, Category] = {b"session": "necessary", b"_ga": "analytics", b"_fbp": "targeting", b"": "targeting"}
NECESSARY: frozenset[Category] = frozenset({"necessary"})
EVERYTHING: frozenset[Category] = frozenset(CATEGORIES)


def category_of(name: bytes) -> Category:
    return CATEGORY.get(name, "targeting")


def test_untouched_response_is_the_apps_own_list() -> None:
    headers = [(b"content-type", b"text/css"), (b"content-length", b"3")]
    head = rewrite_head(headers, NECESSARY, category_of)
    assert head.headers is headers and not head.html and head.length_at == 1


def test_set_cookie_of_other_categories_dropped_in_any_case_spelling() -> None:
    headers = [
        (b"Set-Cookie", b"_fbp=1"),
        (b"set-cookie", b"session=a"),
        (b"SET-COOKIE", b"_ga=2"),
        (b"set-cookie", b"nameless"),
    ]
    head = rewrite_head(headers, NECESSARY, category_of)
    assert [v for _, v in head.headers if _.lower() == b"set-cookie"] == [b"session=a"]
    assert head.dropped == ("_fbp", "_ga", "")
    assert (b"vary", b"Cookie") in head.headers


def test_necessary_set_cookie_alone_needs_no_vary() -> None:
    headers = [(b"set-cookie", b"session=a"), (b"content-type", b"application/json")]
    assert rewrite_head(headers, NECESSARY, category_of).headers is headers


def test_accept_all_keeps_trackers_but_says_the_response_varies() -> None:
    headers = [(b"set-cookie", b"_fbp=1"), (b"vary", b"Accept-Encoding")]
    head = rewrite_head(headers, EVERYTHING, category_of)
    assert head.headers == [(b"set-cookie", b"_fbp=1"), (b"vary", b"Accept-Encoding, Cookie")]


def test_vary_star_or_cookie_is_left_alone() -> None:
    for vary in (b"*", b"cookie, Accept"):
        head = rewrite_head([(b"vary", vary), (b"content-type", b"text/html")], NECESSARY, category_of)
        assert head.headers == [(b"vary", vary), (b"content-type", b"text/html")] and head.html


def test_html_is_consent_dependent_but_compressed_html_is_not_injectable() -> None:
    head = rewrite_head([(b"content-type", b"text/html; charset=utf-8")], NECESSARY, category_of)
    assert head.html and (b"vary", b"Cookie") in head.headers
    gz = rewrite_head([(b"content-type", b"text/html"), (b"content-encoding", b"gzip")], NECESSARY, category_of)
    assert not gz.html


def test_expiries_are_appended_and_content_length_index_follows_drops() -> None:
    headers = [(b"set-cookie", b"_fbp=1"), (b"content-length", b"2")]
    expiry = (b"set-cookie", b"_ga=; Max-Age=0")
    head = rewrite_head(headers, NECESSARY, category_of, (expiry,))
    assert head.headers == [(b"content-length", b"2"), (b"vary", b"Cookie"), expiry]
    assert head.length_at == 0


def test_app_minor_flag_narrows_and_is_removed() -> None:
    """A child flagged by the app, without a guardian consent, gets necessary cookies only (제22조의2①)."""
    headers = [(b"x-cookiegate-minor", b"1"), (b"set-cookie", b"_fbp=1"), (b"set-cookie", b"_ga=1")]
    headers.append((b"set-cookie", b"session=1"))
    head = rewrite_head(headers, EVERYTHING, category_of)
    assert [v for n, v in head.headers if n == b"set-cookie"] == [b"session=1"]
    assert all(n != b"x-cookiegate-minor" for n, _ in head.headers)
    off = rewrite_head([(b"X-Cookiegate-Minor", b"0"), (b"set-cookie", b"_fbp=1")], EVERYTHING, category_of)
    assert off.headers == [(b"set-cookie", b"_fbp=1"), (b"vary", b"Cookie")]


def test_inlined_set_cookie_name_agrees_with_cookies_module() -> None:
    from cookiegate.set_cookies import set_cookie_name

    values = [b"_fbp=1", b" _ga = 2; Path=/", b"nameless", b"a;b=c", b"=v", b"x=", b"sid=a=b; HttpOnly", b""]
    for value in values:
        expected = set_cookie_name(value)
        category: Category = "necessary" if expected == b"probe" else "targeting"
        seen: list[bytes] = []

        def spy(name: bytes, category: Category = category, seen: list[bytes] = seen) -> Category:
            seen.append(name)
            return category

        rewrite_head([(b"set-cookie", value)], NECESSARY, spy)
        assert seen == [expected], value


@pytest.mark.parametrize(
    ("name", "read_as"),
    [
        (b"set-cookie", b"set-cookie"),
        (b"Set-Cookie", b"set-cookie"),
        (b"SET-COOKIE", b"set-cookie"),
        (b"Content-Encoding", b"content-encoding"),
        (b"CONTENT-ENCODING", b"content-encoding"),
        (b"set-cookiE", b"set-cookie"),  # the last letter's case too, not only the first's
        (b"Sex-cookie", None),  # first and last letters agree: the whole name still decides
        (b"content-language", None),  # the length of content-encoding, another header
        (b"etag", None),  # the length of vary
        (b"X-Cookiegate-Minor", b"x-cookiegate-minor"),
        (b"set_cookie", None),
        (b"", None),
    ],
)
def test_a_read_header_is_known_in_any_case_and_no_other_is(name: bytes, read_as: bytes | None) -> None:
    spelled = {header_kind(known): known for known in (b"set-cookie", b"content-encoding", b"x-cookiegate-minor")}
    assert spelled.get(header_kind(name)) == read_as

"""Marketing parameter removal for visitors under 14."""

from __future__ import annotations

import pytest

from cookiegate.minors import STRIPPED_CACHE_SIZE, STRIPPED_QUERY_LIMIT, MarketingParams
from cookiegate.policy import DEFAULT_MARKETING_PARAMS

PARAMS = MarketingParams(DEFAULT_MARKETING_PARAMS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", b""),
        (b"q=mug", b"q=mug"),
        (b"utm_source=a&q=1&utm_medium=b", b"q=1"),
        (b"gclid=1&fbclid=2&msclkid=3&dclid=4&ttclid=5&twclid=6&li_fat_id=7&igshid=8", b""),
        (b"mc_cid=1&mc_eid=2&_hsenc=3&n_media=4&q=%EC%BB%B5", b"q=%EC%BB%B5"),
        (b"UTM_SOURCE=a&Gclid=1&keep=UTM", b"keep=UTM"),
        (b"utm%5Fsource=a&utm+source=b&x", b"x"),  # PHP reads "utm source" as utm_source
        (b"a=1&&b=2", b"a=1&b=2"),
        (b"\xff\xfe=1&gclid=\xff", b"\xff\xfe=1"),
        (b"utm_source", b""),
    ],
)
def test_strip(query: bytes, expected: bytes) -> None:
    assert PARAMS.strip(query) == expected


def test_unchanged_query_is_the_same_object() -> None:
    query = b"a=1&b=2"
    assert PARAMS.strip(query) is query


@pytest.mark.parametrize(
    "query",
    [
        b"gclid[]=1",
        b"gclid[0]=1",
        b"%67clid=1",
        b"%2567clid=1",  # decoded twice by a framework that unquotes again
        b"GCLID=1",
        b";gclid=1",
        b";gclid=1;",
        b"utm.source=1",  # PHP reads "." and " " in names as "_"
        b"utm%20source=1",
        b"%EF%BD%87clid=1",  # full-width "ｇ" folds to "g" under NFKC
        b"+gclid=1",
        b"gclid%00=1",
    ],
)
def test_marketing_names_in_other_shapes_are_stripped(query: bytes) -> None:
    assert PARAMS.strip(b"keep=1&" + query) == b"keep=1"


def test_semicolon_pieces_of_other_params_survive() -> None:
    assert PARAMS.strip(b"q=a;b&x=1;gclid=2") == b"q=a;b&x=1"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (b"/shop/item", b"/shop/item"),
        (b"/shop;gclid=1/item", b"/shop/item"),
        (b"/shop;jsessionid=a;utm_source=x", b"/shop;jsessionid=a"),
        (b"/;fbclid=1", b"/"),
    ],
)
def test_path_parameters(path: bytes, expected: bytes) -> None:
    assert PARAMS.strip_path(path) == expected


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        (b"https://shop.test/p?gclid=1&utm_source=ig&q=mug", b"https://shop.test/p?q=mug"),
        (b"https://shop.test/p?gclid=1", b"https://shop.test/p"),
        (b"https://shop.test/p;gclid=1?x=1#utm_campaign=a&top", b"https://shop.test/p?x=1#top"),
        (b"https://shop.test", b"https://shop.test"),
        (b"https://shop.test?fbclid=1", b"https://shop.test"),
        (b"/relative?utm_medium=x&a=b", b"/relative?a=b"),
        (b"not a url", b"not a url"),
    ],
)
def test_clean_referer(referer: bytes, expected: bytes) -> None:
    assert PARAMS.clean_referer(referer) == expected


def test_a_forged_query_with_thousands_of_params_is_cut() -> None:
    query = b"&".join(b"k%d=1" % i for i in range(5000)) + b"&gclid=1"
    stripped = PARAMS.strip(query)
    assert b"gclid" not in stripped
    assert stripped.count(b"&") < 300


def test_a_repeated_query_is_stripped_alike_and_the_memo_stays_bounded() -> None:
    params = MarketingParams(DEFAULT_MARKETING_PARAMS)
    assert params.strip(b"utm_source=a&q=1") == b"q=1"
    assert params.strip(b"utm_source=a&q=1") == b"q=1"  # from the memo
    for n in range(STRIPPED_CACHE_SIZE + 5):
        assert params.strip(b"gclid=%d&q=%d" % (n, n)) == b"q=%d" % n
    assert len(params._stripped) == STRIPPED_CACHE_SIZE
    long_query = b"gclid=1&q=" + b"x" * STRIPPED_QUERY_LIMIT
    assert params.strip(long_query) == long_query[8:] and long_query not in params._stripped


def test_strip_scope_cuts_campaign_ids_from_query_path_parameters_and_referer_in_place() -> None:
    scope = {
        "query_string": b"utm_source=x&item=3",
        "path": "/shop;gclid=1",
        "raw_path": b"/shop;gclid=1",
        "headers": [(b"host", b"shop.test"), (b"referer", b"https://shop.test/?fbclid=9&q=mug")],
    }
    PARAMS.strip_scope(scope, b"https://shop.test/?fbclid=9&q=mug")
    assert scope["query_string"] == b"item=3"
    assert scope["path"] == "/shop" and scope["raw_path"] == b"/shop"
    assert scope["headers"] == [(b"host", b"shop.test"), (b"referer", b"https://shop.test/?q=mug")]


def test_strip_scope_leaves_a_clean_request_as_it_was() -> None:
    headers = [(b"referer", b"https://shop.test/cart")]
    scope = {"query_string": b"item=3", "path": "/shop", "raw_path": b"/shop", "headers": headers}
    PARAMS.strip_scope(scope, b"https://shop.test/cart")
    assert scope == {"query_string": b"item=3", "path": "/shop", "raw_path": b"/shop", "headers": headers}
    assert scope["headers"] is headers

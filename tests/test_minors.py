"""Marketing parameter removal for visitors under 14."""

from __future__ import annotations

import pytest

from cookiegate.minors import MarketingParams
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
        (b"utm%5Fsource=a&utm+source=b&x", b"utm+source=b&x"),
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

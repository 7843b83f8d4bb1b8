"""``read_request``: the request headers the gate reads, in one pass; and the header list without the Cookie header."""

from __future__ import annotations

from typing import Any

from cookiegate.request_facts import RequestFacts, read_request, without_cookie_headers


def test_read_request_joins_split_cookie_headers_and_reads_gpc_and_html() -> None:
    facts = read_request(
        [
            (b"cookie", b"a=1"),
            (b"accept", b"text/html,*/*"),
            (b"sec-gpc", b" 1 "),
            (b"cookie", b"b=2"),
            (b"user-agent", b"UA"),
            (b"x-forwarded-for", b"1.1.1.1"),
            (b"x-forwarded-for", b"2.2.2.2"),
        ]
    )
    assert facts.cookie == b"a=1; b=2"
    assert facts.gpc and facts.wants_html and facts.user_agent == b"UA"
    assert facts.forwarded_for == b"1.1.1.1,2.2.2.2" and facts.forwarded is None


def test_headers_it_does_not_read_leave_the_defaults_and_into_is_filled_in_place() -> None:
    facts = RequestFacts()
    assert read_request([(b"host", b"x"), (b"accept", b"application/json")], facts) is facts
    assert facts.cookie == b"" and not facts.gpc and not facts.wants_html
    assert facts.user_agent == b"" and facts.referer == b"" and facts.forwarded_for is None
    assert not read_request([(b"sec-gpc", b"0")]).gpc


def test_pairs_that_are_lists_read_the_same_as_tuples() -> None:
    headers = [[b"cookie", b"a=1"], (b"sec-gpc", b"1"), [b"accept", b"text/html"], [b"host", b"x"]]
    facts = read_request(headers)  # type: ignore[arg-type]  # ASGI allows any two-item iterable
    assert facts.cookie == b"a=1" and facts.gpc and facts.wants_html


def test_without_cookie_headers_keeps_every_other_header_in_order_whatever_the_pair_type() -> None:
    headers: list[Any] = [
        (b"host", b"shop.example"),
        (b"cookie", b"a=1"),
        [b"accept", b"text/html"],
        [b"cookie", b"b=2"],
        (b"cookies", b"not the Cookie header"),
    ]
    assert without_cookie_headers(headers) == [
        (b"host", b"shop.example"),
        [b"accept", b"text/html"],
        (b"cookies", b"not the Cookie header"),
    ]

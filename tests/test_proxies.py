"""Trusted-proxy resolution: only configured proxies are believed, through chains, cached per header chain."""

from __future__ import annotations

from cookiegate.proxies import TrustedProxies, parse_forwarded_for, parse_x_forwarded_for


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert TrustedProxies(()).client("198.51.100.7", 5, "1.2.3.4", None) == ("198.51.100.7", 5)


def test_a_chain_of_proxies_gives_the_rightmost_address_that_is_not_a_proxy() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "192.0.2.1"])
    assert proxies.client("10.0.0.2", 1, "6.6.6.6, 198.51.100.20, 192.0.2.1, 10.1.1.1", None) == ("198.51.100.20", None)
    assert proxies.client("10.0.0.2", 1, "10.9.9.9, 10.1.1.1", None) == ("10.9.9.9", None), "all hops trusted"


def test_an_unknown_hop_stops_resolution_at_the_proxy_that_reported_it() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.client("10.0.0.2", 9, "unknown", None) == ("10.0.0.2", 9)


def test_the_cached_answer_is_the_same_and_the_port_follows_the_connection() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.client("10.0.0.2", 1, None, 'for="[2001:db8::7]:4711"') == ("2001:db8::7", 4711)
    assert proxies.client("10.0.0.2", 2, None, 'for="[2001:db8::7]:4711"') == ("2001:db8::7", 4711)
    assert proxies.client("10.0.0.2", 3, None, None) == ("10.0.0.2", 3)


def test_header_parsers_keep_ports_and_ipv6_brackets() -> None:
    assert parse_x_forwarded_for("1.2.3.4:80, [2001:db8::1]:443, 2001:db8::2") == [
        ("1.2.3.4", 80), ("2001:db8::1", 443), ("2001:db8::2", None)
    ]  # fmt: skip
    assert parse_forwarded_for('for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"') == [
        ("192.0.2.60", None), ("2001:db8:cafe::17", 4711)
    ]  # fmt: skip
    assert parse_x_forwarded_for("1.2.3.4:999999") == [("1.2.3.4", None)], "a port is at most 5 digits"

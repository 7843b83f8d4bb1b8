"""Forged forwarding headers: the statutory log's client address is only what a trusted proxy says.

통신비밀보호법 시행령 제41조 makes the client address (접속지 추적자료) a record investigators act on, so a
client that writes ``X-Forwarded-For`` or ``Forwarded`` itself must not choose it. These drive the resolution
the access-log writer runs for every record (``TrustedProxies.client``) with hostile header values: none
raises, none names an address no trusted proxy vouched for, and huge or numerous chains cost bounded work.
"""

from __future__ import annotations

import pytest

from cookiegate.proxies import TrustedProxies
from tests.hostile.harness import counting_calls

PEER = ("203.0.113.9", 40000)  # a visitor connecting directly
PROXY = ("10.0.0.2", 443)  # our load balancer
FORGED = "198.51.100.66"


@pytest.mark.parametrize("trusted", [[], ["10.0.0.0/8"], ["0.0.0.0/0", "::/0"]])
@pytest.mark.parametrize(
    ("forwarded_for", "forwarded"),
    [
        (FORGED, None),
        (f"{FORGED}, {FORGED}", None),
        (None, f"for={FORGED}"),
        (None, f'for="{FORGED}:80";proto=https'),
        (FORGED, "for=192.0.2.1"),
    ],
)
def test_a_visitor_cannot_choose_its_logged_address(
    trusted: list[str], forwarded_for: str | None, forwarded: str | None
) -> None:
    proxies = TrustedProxies(trusted)
    client = proxies.client(*PEER, forwarded_for, forwarded)
    if "0.0.0.0/0" in trusted:  # an operator who names every peer a proxy believes every header (configured so)
        assert client[0] in (FORGED, "192.0.2.1")
    else:
        assert client == PEER, "headers from a peer that is not a configured proxy are ignored"


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        (f"{FORGED}, 198.51.100.7", "198.51.100.7"),  # the spoof sits left of what our proxy appended
        (f"{FORGED}, 198.51.100.7, 10.1.1.1", "198.51.100.7"),  # through two of our proxies
        (f"{FORGED},198.51.100.7 ,  10.1.1.1", "198.51.100.7"),
        (f"{FORGED}, unknown", PROXY[0]),  # the proxy could not tell: it is all we know
        (f"{FORGED}, _hidden", PROXY[0]),  # RFC 7239 obfuscated identifier
        (f"{FORGED}, 198.51.100.7\x00", PROXY[0]),
        (f"{FORGED}, [::ffff:198.51.100.7]:80", "::ffff:198.51.100.7"),
        (f"{FORGED}, 198.51.100.7:99999999", "198.51.100.7"),
        (f"{FORGED}, ", FORGED),  # an empty hop is skipped (a proxy always appends what it saw: never empty)
        ("", None),
        (",,,,", None),
        ("\xff\xfe, 198.51.100.7", "198.51.100.7"),
    ],
)
def test_through_our_proxy_only_the_hop_it_appended_counts(forwarded_for: str, expected: str | None) -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    address, _ = proxies.client(*PROXY, forwarded_for, None)
    assert address == (expected or PROXY[0])


@pytest.mark.parametrize(
    "chain",
    [
        ", ".join(f"198.51.{i // 256 % 256}.{i % 256}" for i in range(20_000)),
        ", ".join(["10.1.1.1"] * 20_000),  # every hop one of ours: the walk must still stop
        "1" * 1_000_000,
        "[" * 100_000,
        ":" * 100_000 + "1.2.3.4",
    ],
)
def test_huge_chains_cost_bounded_work(chain: str) -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    _, small = counting_calls(lambda: TrustedProxies(["10.0.0.0/8"]).client(*PROXY, "198.51.100.7, 10.1.1.1", None))
    _, calls = counting_calls(lambda: proxies.client(*PROXY, chain, None))
    assert calls <= small + 20 * 600, "at most the last 512 hops are examined"
    _, forwarded = counting_calls(lambda: proxies.client(*PROXY, None, chain.replace(", ", ", for=")))
    assert forwarded <= small + 20 * 600


def test_a_flood_of_distinct_chains_keeps_the_caches_bounded() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    for i in range(20_000):
        proxy = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        address, _ = proxies.client(proxy, 1, f"{FORGED}, 198.51.{i}", None)
        assert address == proxy, "198.51.N is not an address: our proxy is all we know"
    assert len(proxies._chains) <= 4096 and len(proxies._trusted) <= 4096

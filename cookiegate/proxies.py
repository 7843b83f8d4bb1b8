"""Which direct peers may tell us the client address, and how to read it from their forwarding headers.

Only a configured proxy's headers are believed: anyone else can send ``X-Forwarded-For``, and a forged
address in the statutory log (통신비밀보호법 시행령 제41조: 접속지 추적자료) would point investigators at an
innocent person. Through a chain of proxies the client is the rightmost address that is not itself a proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from cookiegate.bounded import FifoCache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAX_CHAIN: Final = 512
_CACHE_SIZE: Final = 4096


def _split_host_port(token: str) -> tuple[str, int | None]:
    """``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:80`` or ``2001:db8::1`` → (address, port)."""
    token = token.strip().strip('"')
    if token.startswith("["):
        host, _, rest = token[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() and len(port) <= 5 else None
    if token.count(":") == 1:
        host, _, port = token.partition(":")
        return host, int(port) if port.isdigit() and len(port) <= 5 else None
    return token, None


def parse_forwarded_for(header: str) -> list[tuple[str, int | None]]:
    """The ``for=`` hops of an RFC 7239 ``Forwarded`` header, nearest-the-client first."""
    hops: list[tuple[str, int | None]] = []
    for element in header.split(",")[-_MAX_CHAIN:]:  # cut before parsing: a forged header may hold 20,000
        for pair in element.split(";"):
            key, _, value = pair.strip().partition("=")
            if key.lower() == "for" and value:
                hops.append(_split_host_port(value))
    return hops[-_MAX_CHAIN:]


def parse_x_forwarded_for(header: str) -> list[tuple[str, int | None]]:
    """The hops of an ``X-Forwarded-For`` header (repeats already joined with commas)."""
    return [_split_host_port(part) for part in header.split(",")[-_MAX_CHAIN:] if part.strip()]


@lru_cache(maxsize=8192)
def parse_ip(text: str) -> IPAddress | None:
    """``text`` as an address, or None."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class TrustedProxies:
    """The configured proxy networks and the client resolution through them (cached per header chain)."""

    __slots__ = ("_chains", "_trusted", "networks")

    def __init__(self, cidrs: Iterable[str]) -> None:
        networks: list[Network] = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"trusted_proxies entry {cidr!r} is not an IP address or CIDR (e.g. '10.0.0.0/8', '::1')"
                ) from exc
        self.networks: tuple[Network, ...] = tuple(networks)
        # Bounded (oldest out): forged addresses and chains cost a resolution each, never memory.
        self._trusted: FifoCache[str, bool] = FifoCache(_CACHE_SIZE)
        self._chains: FifoCache[tuple[str | None, str | None, str | None], tuple[str, int | None] | None] = FifoCache(
            _CACHE_SIZE
        )

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is one of our proxies (unparseable means no)."""
        known = self._trusted.entries.get(address)
        if known is not None:
            return known
        parsed = parse_ip(address)
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        trusted = parsed is not None and any(parsed in network for network in self.networks)
        self._trusted.put(address, trusted)
        return trusted

    def client(
        self, peer: str | None, peer_port: int | None, forwarded_for: str | None, forwarded: str | None
    ) -> tuple[str | None, int | None]:
        """The client address and port for the log: the peer, unless the peer is a trusted proxy.

        Cached per (peer, headers): the ingester resolves every record, and the same few chains recur.
        """
        if forwarded_for is None and forwarded is None:
            return peer, peer_port
        key = (peer, forwarded_for, forwarded)
        try:
            resolved = self._chains.entries[key]
        except KeyError:
            resolved = None
            if peer is not None and self.networks and self.trusts(peer):
                resolved = self._resolve(peer, forwarded_for, forwarded)
            self._chains.put(key, resolved)
        return (peer, peer_port) if resolved is None else resolved

    def _resolve(self, peer: str, forwarded_for: str | None, forwarded: str | None) -> tuple[str, int | None] | None:
        """The hop named by the headers, or None when the peer itself is all we know."""
        # X-Forwarded-For is what most proxies (nginx, ALB, Cloudflare) append to; RFC 7239 otherwise.
        hops = parse_x_forwarded_for(forwarded_for) if forwarded_for else parse_forwarded_for(forwarded or "")
        candidate: tuple[str, int | None] | None = None
        for address, port in reversed(hops):
            if parse_ip(address) is None:
                return candidate  # "unknown" or an obfuscated name: the trusted hop that reported it is all we know
            candidate = (address, port)
            if not self.trusts(address):
                return candidate
        return candidate

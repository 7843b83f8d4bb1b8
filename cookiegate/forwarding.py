"""Catch a server that rewrites the client address from ``X-Forwarded-For`` before the gate sees it.

uvicorn trusts ``X-Forwarded-For`` from ``127.0.0.1,::1`` by default (``--forwarded-allow-ips``, or the
``FORWARDED_ALLOW_IPS`` environment variable) and replaces ``scope["client"]`` with the address the header
names. Without a proxy on that host, any local client forges its address, and the statutory access log
(통신비밀보호법 시행령 제41조: the visitor's address) stores the forgery as both client and peer. The gate
cannot undo the rewrite, so it says so at startup, once and loudly, naming the fix.

Detection reads the server's own settings: uvicorn's ``ProxyHeadersMiddleware`` is the caller of the gate
(on every request and the lifespan), so a walk up the calling frames finds it and its trusted hosts.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Iterable
from types import FrameType
from typing import Final

logger = logging.getLogger("cookiegate")

_MAX_FRAMES: Final = 64
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def server_trusted_forwarders() -> list[str] | None:
    """What the calling ASGI server trusts to set ``X-Forwarded-For``; None when it rewrites nothing.

    ``["*"]`` means every peer. Call it from inside the gate's ``__call__`` (the server's frames are above).
    """
    frame: FrameType | None = sys._getframe(1)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if type(owner).__name__ == "ProxyHeadersMiddleware" and type(owner).__module__.startswith("uvicorn."):
            return _trusted_of(getattr(owner, "trusted_hosts", None))
        frame = frame.f_back
    return None


def _trusted_of(trusted: object) -> list[str]:
    if getattr(trusted, "always_trust", False):
        return ["*"]
    hosts = [str(h) for h in getattr(trusted, "trusted_hosts", ())]
    hosts += [str(n) for n in getattr(trusted, "trusted_networks", ())]
    hosts += [str(h) for h in getattr(trusted, "trusted_literals", ()) if h]
    return sorted(hosts)


def untrusted_forwarders(server_trusts: Iterable[str], gate_trusts: Iterable[str]) -> list[str]:
    """The server's trusted forwarders that the gate's ``trusted_proxies`` does not cover."""
    networks: list[IPNetwork] = []
    for cidr in gate_trusts:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            continue  # the access log validates trusted_proxies; a bad entry covers nothing here
    extra: list[str] = []
    for host in server_trusts:
        if host == "*":
            extra.append(host)
            continue
        try:
            net = ipaddress.ip_network(host, strict=False)
        except ValueError:
            extra.append(host)  # a literal (unix socket path, hostname): the gate trusts no such thing
            continue
        if not any(net.version == n.version and net.subnet_of(n) for n in networks):  # type: ignore[arg-type]
            extra.append(host)
    return extra


def warn_if_server_trusts_more(gate_trusts: Iterable[str]) -> bool:
    """Log one loud warning when the server rewrites client addresses the gate would not; True if it did."""
    server_trusts = server_trusted_forwarders()
    if not server_trusts:
        return False
    extra = untrusted_forwarders(server_trusts, gate_trusts)
    if not extra:
        return False
    logger.warning(
        "The ASGI server rewrites the client address from X-Forwarded-For for peers %s, which CookieGate's "
        "trusted_proxies does not list: a client there can forge the address the statutory access log keeps "
        "(통신비밀보호법 시행령 제41조). Without a proxy on those hosts run uvicorn with "
        "--forwarded-allow-ips='' (or FORWARDED_ALLOW_IPS='', or --no-proxy-headers); behind a proxy, "
        "list its address in CookieGate(trusted_proxies=[...]) too.",
        ", ".join(extra),
    )
    return True

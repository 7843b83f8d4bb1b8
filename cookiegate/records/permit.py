"""The court permit behind a disclosure, and the scope an export must stay inside (통신비밀보호법 제13조).

Communication confirmation data (the access log) is handed over only against a permit of a court, and only
what the permit names: its addresses and its period. An export asked for more than that is refused before
anything is read, and the operator who ran it is recorded.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import date

from cookiegate.crypto import parse_networks


@dataclass(frozen=True, slots=True)
class Permit:
    """A court permit as the operator read it off the paper: who issued it, when, for which addresses and days."""

    number: str
    court: str
    issued: date
    agency: str
    scope_from_ms: int
    scope_to_ms: int
    scope_addresses: tuple[str, ...]
    operator: str

    def __post_init__(self) -> None:
        missing = [name for name in ("number", "court", "agency", "operator") if not getattr(self, name).strip()]
        if missing:
            raise ValueError(
                f"a disclosure needs the permit's {', '.join(missing)} (통신비밀보호법 제13조: only against a "
                "court permit, and the operator is recorded)"
            )
        if not self.scope_addresses:
            raise ValueError("name the addresses or networks the permit covers (--scope-ip, repeatable)")
        parse_networks(self.scope_addresses)
        if self.scope_from_ms >= self.scope_to_ms:
            raise ValueError("the permit's period must start before it ends (--scope-from, --scope-to)")

    def check(self, from_ms: int, to_ms: int, ip: str | None) -> None:
        """Refuse an export outside the permit: a longer period, no address, or an address it does not name."""
        if from_ms < self.scope_from_ms or to_ms > self.scope_to_ms:
            raise ValueError("refused: the export's period lies outside the permit's period (통신비밀보호법 제13조)")
        if ip is None:
            raise ValueError("refused: name the address or network to export (--ip); the permit covers only its own")
        (wanted,) = parse_networks([ip])
        if not any(_within(wanted, net) for net in parse_networks(self.scope_addresses)):
            raise ValueError(f"refused: {ip} is not within the permit's addresses {list(self.scope_addresses)}")

    def describe(self) -> str:
        """One line for the disclosure ledger's permit column: number, court and date."""
        return f"{self.number.strip()} ({self.court.strip()}, {self.issued.isoformat()})"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _within(wanted: Network, scope: Network) -> bool:
    if isinstance(wanted, ipaddress.IPv4Network) and isinstance(scope, ipaddress.IPv4Network):
        return wanted.subnet_of(scope)
    if isinstance(wanted, ipaddress.IPv6Network) and isinstance(scope, ipaddress.IPv6Network):
        return wanted.subnet_of(scope)
    return False

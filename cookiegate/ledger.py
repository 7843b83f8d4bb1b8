"""The consent ledger: every consent change as a hash-chained event, proof of consent and the visitor's history.

개인정보 보호법 제22조 and the consent guideline put the burden of proving consent on the site, so each
change (banner, API, form, withdrawal, GPC, policy renewal) is appended with the policy version the visitor
saw. Each row carries the hash of the row before and of its own content: editing or deleting a row breaks
the chain, and ``cookiegate verify`` finds where. The ledger keeps at most a /24 (IPv4) or /48 (IPv6)
network, never a full address or a bare hash of one (the IPv4 space is brute-forced in minutes).
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import orjson

from cookiegate.consent import Consent, ConsentMethod
from cookiegate.policy import CATEGORIES
from cookiegate.stores import LedgerStore

_HASHED: Final = (
    "seq", "at_ms", "consent_id", "policy_version", "locale", "granted", "method", "under14", "gpc", "minor",
    "ip_prefix", "prev_hash",
)  # fmt: skip


def truncate_ip(address: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of ``address``: enough to spot abuse, not to name a person."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def chain_hash(prev_hash: str, row: Mapping[str, object]) -> str:
    """SHA-256 over the previous hash and the row's canonical JSON (sorted keys, every column but ``hash``)."""
    canonical = orjson.dumps({key: row[key] for key in _HASHED}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of ``verify``: how many rows were checked and, if broken, where and why."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""


def verify(rows: Iterable[Mapping[str, object]]) -> ChainCheck:
    """Walk the chain: sequence numbers without gaps, each ``prev_hash`` the hash before, each hash recomputed.

    A deleted row shows as a gap or a ``prev_hash`` mismatch, an edited one as a hash mismatch. Cutting
    rows off the end leaves a valid shorter chain: anchor ``head_hash`` outside (the report prints it).
    """
    prev_hash = ""
    expected_seq = 1
    checked = 0
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            return ChainCheck(False, checked, expected_seq - 1, prev_hash, expected_seq, f"row {expected_seq} missing")
        if row["prev_hash"] != prev_hash:
            return ChainCheck(False, checked, expected_seq - 1, prev_hash, expected_seq, "prev_hash does not match")
        if chain_hash(prev_hash, row) != row["hash"]:
            return ChainCheck(False, checked, expected_seq - 1, prev_hash, expected_seq, "content was changed")
        prev_hash = str(row["hash"])
        expected_seq += 1
        checked += 1
    return ChainCheck(True, checked, expected_seq - 1, prev_hash)


class ConsentLedger:
    """What the consent API calls: ``record`` on every change, ``history`` for the visitor's own events.

    ``record`` is one small SQLite transaction in WAL mode (tens of µs): written at once rather than behind,
    because a consent that was confirmed to the visitor must have its proof stored.
    """

    __slots__ = ("_clock", "store")

    def __init__(self, store: LedgerStore, *, clock: Callable[[], int] | None = None) -> None:
        self.store = store
        self._clock = clock or _now_ms

    def record(self, consent: Consent, *, method: ConsentMethod, locale: str, client_ip: str | None) -> None:
        """Append one consent event (the client address is cut to its /24 or /48 before it is stored)."""
        self.store.append(
            {
                "at_ms": self._clock(),
                "consent_id": consent.consent_id or "",
                "policy_version": consent.version,
                "locale": locale[:16],
                "granted": ",".join(c for c in CATEGORIES if c in consent.granted),
                "method": method,
                "under14": int(consent.under14),
                "gpc": int(consent.gpc),
                "minor": int(consent.minor),
                "ip_prefix": truncate_ip(client_ip),
            },
            chain_hash,
        )

    def history(self, consent_id: str) -> list[dict[str, object]]:
        """The visitor's own events, oldest first, as JSON-able dicts (their right of access, 제35조)."""
        return [
            {
                "at": datetime.fromtimestamp(int(str(row["at_ms"])) / 1000, UTC).isoformat(timespec="seconds"),
                "method": row["method"],
                "policy_version": row["policy_version"],
                "locale": row["locale"],
                "granted": [c for c in str(row["granted"]).split(",") if c],
                "under14": bool(row["under14"]),
                "gpc": bool(row["gpc"]),
                "ip_prefix": row["ip_prefix"],
            }
            for row in self.store.history(consent_id)
        ]

    def verify(self) -> ChainCheck:
        """Check the whole chain (see ``verify``)."""
        return verify(self.store.rows())

    def close(self) -> None:
        self.store.close()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000

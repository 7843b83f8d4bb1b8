"""The consent ledger's hash chain: how an event's hash is computed and how a chain is checked.

Each event carries the hash of the one before and of its own content, so editing or deleting a row breaks
the chain and ``cookiegate verify`` finds where. Stores call ``seal`` while they hold their write lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import orjson

from cookiegate.records.types import LedgerEvent

_HASHED: Final = (
    "seq", "at_ms", "consent_id", "policy_version", "locale", "granted", "method", "under14", "gpc", "minor",
    "ip_prefix", "prev_hash",
)  # fmt: skip


def chain_hash(prev_hash: str, event: LedgerEvent) -> str:
    """SHA-256 over the previous hash and the event's canonical JSON (sorted keys, every field but ``hash``)."""
    fields = event._asdict()
    fields["prev_hash"] = prev_hash
    canonical = orjson.dumps({key: fields[key] for key in _HASHED}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()


def seal(event: LedgerEvent, seq: int, prev_hash: str) -> LedgerEvent:
    """``event`` as the chain's event number ``seq`` after a head whose hash is ``prev_hash``."""
    placed = event._replace(seq=seq, prev_hash=prev_hash, hash="")
    return placed._replace(hash=chain_hash(prev_hash, placed))


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of ``verify``: how many events were checked and, if broken, where and why."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""


def verify(events: Iterable[LedgerEvent]) -> ChainCheck:
    """Walk the chain: sequence numbers without gaps, each ``prev_hash`` the hash before, each hash recomputed.

    A deleted event shows as a gap or a ``prev_hash`` mismatch, an edited one as a hash mismatch. Cutting
    events off the end leaves a valid shorter chain: anchor ``head_hash`` outside (checkpoints, issue #10).
    """
    prev_hash = ""
    expected = 1
    for event in events:
        reason = ""
        if event.seq != expected:
            reason = f"event {expected} missing"
        elif event.prev_hash != prev_hash:
            reason = "prev_hash does not match"
        elif chain_hash(prev_hash, event) != event.hash:
            reason = "content was changed"
        if reason:
            return ChainCheck(False, expected - 1, expected - 1, prev_hash, expected, reason)
        prev_hash = event.hash
        expected += 1
    return ChainCheck(True, expected - 1, expected - 1, prev_hash)

"""Consent events are proof, not a collection: destroyed a set time after their policy version was superseded.

개인정보 보호법 제21조: personal data is destroyed once its purpose is served. A consent event proves what a
visitor agreed to while that policy version was in force; the site keeps it for a configurable time after
the version was superseded (default 3 years, ``policy_archive.DEFAULT_LEDGER_RETENTION_YEARS``), then destroys
it. Events are appended in time order and a superseded version gets no new events, so the destroyed events are
always a prefix of the chain; the store keeps the hash the chain continues from (``chain.verify(anchor=)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from cookiegate.records.types import LedgerEvent


class PurgeableLedger(Protocol):
    """A ledger store that can destroy a prefix of its chain (SQLite and PostgreSQL)."""

    def rows(self) -> Iterable[LedgerEvent]: ...

    def purge_through(self, seq: int, *, now_ms: int) -> int: ...


def expired_prefix(events: Iterable[LedgerEvent], expired_versions: Iterable[str]) -> int:
    """The last event number of the chain's leading run of events under expired versions (0: none)."""
    expired = set(expired_versions)
    last = 0
    for event in events:
        if event.policy_version not in expired:
            break
        last = event.seq
    return last


def purge_expired(store: PurgeableLedger, expired_versions: Iterable[str], *, now_ms: int) -> int:
    """Destroy the events of expired versions; returns how many were destroyed."""
    through = expired_prefix(store.rows(), expired_versions)
    return store.purge_through(through, now_ms=now_ms) if through else 0

"""The three spool channels and how the ingester turns each one's payloads into store writes.

Each channel has its own spool folder under ``data_dir/spool`` and its own store, so the statutory access
log, the consent ledger and the report aggregates never share a file (개인정보 보호법 제21조③).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

import orjson

from cookiegate.crypto import SealedAddressError
from cookiegate.keyfile import configured_keyring
from cookiegate.proxies import TrustedProxies
from cookiegate.records import accesslog, ledger
from cookiegate.records.sealing import SEALED_PAYLOAD, RecordSealer
from cookiegate.stores import (
    AccessStore,
    AggregatesStore,
    LedgerStore,
    open_access_store,
    open_aggregates_store,
    open_ledger_store,
)
from cookiegate.stores.access_rows import record_of_row, row_of_record
from cookiegate.stores.protocols import SpoolProgress, StoreUnavailableError

_NOTICE: Final = b'{"dropped":'


def spool_root(data_dir: Path) -> Path:
    """Where the spools of ``data_dir`` live."""
    return data_dir / "spool"


@dataclass(slots=True)
class ChannelCounters:
    """What one channel's ingester did since it started (written to the status file for ``doctor``)."""

    stored: int = 0
    corrupt: int = 0
    dropped_by_writers: int = 0
    last_commit_ms: int | None = None
    backlog_bytes: int = 0

    def snapshot(self) -> tuple[int, int, int, int | None, int]:
        """The counters as a tuple, to tell cheaply whether anything changed."""
        return (self.stored, self.corrupt, self.dropped_by_writers, self.last_commit_ms, self.backlog_bytes)


class Channel(Protocol):
    name: str
    directory: Path
    counters: ChannelCounters

    @property
    def store(self) -> SpoolProgress: ...

    def write(self, payloads: Sequence[bytes], *, segment: str, offset: int, now_ms: int) -> None:
        """Store ``payloads`` (decoded) and the spool offset in one transaction."""


def _records_only(payloads: Sequence[bytes], counters: ChannelCounters) -> list[bytes]:
    """``payloads`` without the writers' drop notices, which are counted instead."""
    # One C-level scan of the joined batch instead of a Python step per payload (nearly every batch has no
    # notice); a path that happens to contain the marker only sends the batch down the exact loop below.
    if _NOTICE not in b"".join(payloads):
        return list(payloads)
    kept: list[bytes] = []
    for payload in payloads:
        if payload.startswith(_NOTICE):
            try:
                counters.dropped_by_writers += int(orjson.loads(payload)["dropped"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                counters.corrupt += 1
        else:
            kept.append(payload)
    return kept


@dataclass(slots=True)
class AccessChannel:
    directory: Path
    store: AccessStore
    proxies: TrustedProxies
    name: str = "access"
    counters: ChannelCounters = field(default_factory=ChannelCounters)
    #: Seals addresses at rest (제29조); None when no keys are configured.
    sealer: RecordSealer | None = None

    def write(self, payloads: Sequence[bytes], *, segment: str, offset: int, now_ms: int) -> None:
        proxies, sealer = self.proxies, self.sealer
        kept = _records_only(payloads, self.counters)
        # A plain payload is orjson output, which escapes control characters: a raw NUL means a sealed one.
        if sealer is not None or SEALED_PAYLOAD in b"".join(kept):
            kept = [_open_sealed(sealer, p) if p[:1] == SEALED_PAYLOAD else p for p in kept]
        try:
            rows = accesslog.spooled_rows(kept, proxies)
        except ValueError:  # rare: redo one by one to keep every good record
            rows = []
            for payload in kept:
                try:
                    rows += accesslog.spooled_rows([payload], proxies)
                except ValueError:
                    self.counters.corrupt += 1
        if sealer is not None:  # 제29조: the stored row keeps the lookup tag and the sealed evidence only
            rows = [row_of_record(sealer.seal_record(record_of_row(*row))) for row in rows]
        self.store.ingest_rows(rows, segment=segment, offset=offset)
        self.counters.stored += len(rows)


def _open_sealed(sealer: RecordSealer | None, payload: bytes) -> bytes:
    """A sealed spool record is never dropped for want of a key: the ingester retries until keys are fixed."""
    if sealer is None:
        raise StoreUnavailableError("sealed access records in the spool, but no keys: set COOKIEGATE_KEY_FILE")
    try:
        return sealer.open_payload(payload)
    except SealedAddressError as exc:
        raise StoreUnavailableError(f"{exc}: restore the key that sealed it to the key file") from exc


@dataclass(slots=True)
class LedgerChannel:
    directory: Path
    store: LedgerStore
    name: str = "ledger"
    counters: ChannelCounters = field(default_factory=ChannelCounters)

    def write(self, payloads: Sequence[bytes], *, segment: str, offset: int, now_ms: int) -> None:
        events = []
        for payload in _records_only(payloads, self.counters):
            try:
                events.append(ledger.decode(payload))
            except ValueError:
                self.counters.corrupt += 1
        self.store.append(events, segment=segment, offset=offset)
        self.counters.stored += len(events)


@dataclass(slots=True)
class AggregatesChannel:
    directory: Path
    store: AggregatesStore
    name: str = "aggregates"
    counters: ChannelCounters = field(default_factory=ChannelCounters)

    def write(self, payloads: Sequence[bytes], *, segment: str, offset: int, now_ms: int) -> None:
        counts: dict[tuple[str, str, str], int] = {}
        for payload in _records_only(payloads, self.counters):
            try:
                for direction, name, path, count in orjson.loads(payload)["blocked"]:
                    key = (str(direction), str(name), str(path))
                    counts[key] = counts.get(key, 0) + int(count)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                self.counters.corrupt += 1
        self.store.add_blocked_cookies(counts, now_ms=now_ms, segment=segment, offset=offset)
        self.counters.stored += len(payloads)


def open_channels(
    data_dir: Path,
    ledger_url: str,
    access_url: str | None,
    aggregates_url: str,
    proxies: TrustedProxies,
    *,
    create: bool = False,
) -> list[Channel]:
    """The ingester's channels with their stores open (no access channel when ``access_url`` is None).

    Opens every store or none: a store that fails to open closes the ones opened before it.
    """
    root = spool_root(data_dir)
    channels: list[Channel] = []
    try:
        channels.append(LedgerChannel(root / "ledger", open_ledger_store(ledger_url, create=create)))
        if access_url is not None:
            store = open_access_store(access_url, create=create)
            keys = configured_keyring(data_dir)  # 제29조: addresses sealed at rest when keys are set
            sealer = None if keys is None else RecordSealer(keys)
            channels.append(AccessChannel(root / "access", store, proxies, sealer=sealer))
        channels.append(AggregatesChannel(root / "aggregates", open_aggregates_store(aggregates_url, create=create)))
    except BaseException:
        for channel in channels:
            channel.store.close()
        raise
    return channels

"""The consent ledger as the gate sees it: ``record`` appends to the spool, ``history`` reads the store.

개인정보 보호법 제22조 and the consent guideline put the burden of proving consent on the site, so each change
(banner, API, form, withdrawal, GPC, policy renewal) is kept with the policy version the visitor saw, in a
hash chain (``records/chain.py``). ``record`` runs on the event loop, so it only appends one frame to the
local spool (never opens a database, never waits on a lock); the ingest process chains and stores it.
The ledger keeps at most a /24 (IPv4) or /48 (IPv6) network, never a full address or a bare hash of one.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from cookiegate.consent import Consent, ConsentMethod
from cookiegate.policy import CATEGORIES
from cookiegate.records import spool
from cookiegate.records.spool import SpoolWriter
from cookiegate.records.types import LEDGER_EVIDENCE, LedgerEvent
from cookiegate.stores import LedgerStore, StoreMissingError, open_ledger_store


def truncate_ip(address: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of ``address``: enough to spot abuse, not to name a person."""
    if not address:
        return None
    address = address.strip()
    octets = address.split(".")
    if len(octets) == 4 and all(map(_is_octet, octets)):
        # The usual dotted IPv4 without ``ipaddress`` (~7 µs of a ~90 µs consent POST): the same answer.
        return f"{octets[0]}.{octets[1]}.{octets[2]}.0/24"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def _is_octet(text: str) -> bool:
    """A decimal 0-255 as ``ipaddress`` reads one: ASCII digits, no leading zero (anything else goes to it)."""
    return (
        0 < len(text) <= 3 and text.isascii() and text.isdigit() and (text == "0" or text[0] != "0") and int(text) < 256
    )


def decode(payload: bytes) -> LedgerEvent:
    """The event of one spooled payload (in the ingest process); raises ``ValueError`` if malformed."""
    try:
        fields = orjson.loads(payload)
        return LedgerEvent(*fields[:10])._replace(**dict(zip(LEDGER_EVIDENCE, fields[10:13], strict=False)))
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise ValueError("malformed ledger event") from exc


class ConsentLedger:
    """What the consent API calls (contract 3): ``record`` on every change, ``history`` for a visitor's events.

    No I/O in the constructor: the spool opens at the first event, the store at the first ``history``.
    """

    def __init__(self, spool_dir: Path, ledger_url: str, *, clock: Callable[[], int] | None = None) -> None:
        self.spool = SpoolWriter(spool_dir)
        self.url = ledger_url
        self._clock = clock or _now_ms
        self._store: LedgerStore | None = None
        self._lock = threading.Lock()
        #: Policy version -> SHA-256 of its full text, filled by the consent API (``policy_archive.py``).
        self.policy_hashes: dict[str, str] = {}

    def record(self, consent: Consent, *, method: ConsentMethod, locale: str, client_ip: str | None) -> bool:
        """Append one consent event to the spool; False if it could not be written (counted in ``spool.dropped``)."""
        event = LedgerEvent(
            self._clock(),
            consent.consent_id or "",
            consent.version,
            locale[:16],
            ",".join(c for c in CATEGORIES if c in consent.granted),
            method,
            int(consent.under14),
            int(consent.gpc),
            int(consent.minor),
            truncate_ip(client_ip),
            guardian_method=consent.guardian_method,
            guardian_at_ms=consent.guardian_at * 1000 if consent.guardian_method else None,
            policy_sha256=self.policy_hashes.get(consent.version),
        )
        return self.spool.append(orjson.dumps([*event[:10], *event[13:]]))

    def history(self, consent_id: str) -> list[dict[str, object]]:
        """The visitor's own events, oldest first, as JSON-able dicts (their right of access, 제35조).

        Blocking: call it off the event loop. Events not yet ingested are read from the spool, so a visitor
        sees the choice they just made.
        """
        with self._lock:
            if self._store is None:
                try:
                    self._store = open_ledger_store(self.url)
                except StoreMissingError:
                    return _as_dicts(self._spooled(consent_id, [], lambda segment: 0))  # nothing ingested yet
            store = self._store
            try:
                # Offsets before the history: an event committed in between is read twice, and deduplicated.
                offsets = {path.name: store.spool_offset(path.name) for path in spool.segments(self.spool.directory)}
                events = self._spooled(consent_id, store.history(consent_id), offsets.get)
            except Exception:
                # The next call reconnects: the file may have been replaced or the server restarted.
                store.close()
                self._store = None
                raise
        return _as_dicts(events)

    def _spooled(
        self, consent_id: str, events: list[LedgerEvent], offset_of: Callable[[str], int | None]
    ) -> list[LedgerEvent]:
        """``events`` followed by the visitor's events still in the spool past each segment's stored offset."""
        seen = {event[:10] for event in events}
        needle = consent_id.encode()
        for path in spool.segments(self.spool.directory):
            offset = offset_of(path.name)
            if offset is None:
                continue  # a segment begun after the history was read: its events are newer than the question
            try:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
            except FileNotFoundError:
                continue  # ingested and deleted meanwhile: the history already has it
            for payload in spool.parse_frames(data, sealed=False)[0]:
                if needle not in payload or payload.startswith(b"{"):
                    continue
                event = decode(payload)
                if event.consent_id == consent_id and event[:10] not in seen:
                    seen.add(event[:10])
                    events.append(event)
        return events

    def close(self) -> None:
        self.spool.close()
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="seconds")


def _as_dicts(events: list[LedgerEvent]) -> list[dict[str, object]]:
    return [
        {
            "at": datetime.fromtimestamp(e.at_ms / 1000, UTC).isoformat(timespec="seconds"),
            "method": e.method,
            "policy_version": e.policy_version,
            "locale": e.locale,
            "granted": [c for c in e.granted.split(",") if c],
            "under14": bool(e.under14),
            "gpc": bool(e.gpc),
            "ip_prefix": e.ip_prefix,
            "policy_sha256": e.policy_sha256,
            "guardian": None
            if e.guardian_method is None
            else {"method": e.guardian_method, "verified_at": _iso(e.guardian_at_ms or 0)},
        }
        for e in events
    ]

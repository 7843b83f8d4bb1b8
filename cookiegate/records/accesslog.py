"""The statutory access log's sink: one record per request, appended to the spool on the request path.

통신비밀보호법 제2조11호 마·사목 and 시행령 제41조②2 require a site to keep log records and the client address
of every access, so every request leaves exactly one record, whatever its ``outcome`` (a client that hangs
up mid-response, an app that fails or never answers, a WebSocket handshake). The request path formats the raw
facts and appends one frame (~1-2 µs, ~10k instructions compiled); everything slow — resolving the client through
trusted proxies, the store — happens in the ingest process (``records/ingest.py``), which stores the payload
text as it was spooled (``stores/access_rows.py``, schema 3) rather than re-encoding it.

Never recorded: cookie values, query strings, request or response bodies, the User-Agent, the consent state.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from cookiegate.bounded import FifoCache
from cookiegate.consent import Consent
from cookiegate.proxies import TrustedProxies
from cookiegate.records.gpc import GpcEvents
from cookiegate.records.sealing import RecordSealer
from cookiegate.records.spool import DEFAULT_MAX_SPOOL_BYTES, HEADER, MAGIC, SpoolWriter
from cookiegate.records.types import AccessRecord, Outcome
from cookiegate.stores.access_rows import AccessRow, record_of_row

_perf_counter_ns: Final = time.perf_counter_ns
_time_ns: Final = time.time_ns
_dumps: Final = orjson.dumps
_pack: Final = HEADER.pack
_crc32: Final = zlib.crc32
_NO_CLIENT: Final = (None, None)
#: The spooled payload: a JSON array of these, in this order (the store keeps it as is, ``stores/access_rows.py``).
PAYLOAD_FIELDS: Final = ("ts_ms", "peer_ip", "peer_port", "host", "method", "path", "status", "sent_bytes",
                         "duration_us", "http_version", "x_forwarded_for", "forwarded", "outcome")  # fmt: skip
_FIELD_COUNT: Final = len(PAYLOAD_FIELDS)
#: What precedes the outcome in a record without forwarding headers (``_direct_row``).
_NO_FORWARDING: Final = b",null,null,"
_NO_FORWARDING_SIZE: Final = len(_NO_FORWARDING)
#: The shortest record ``_direct_row`` reads: the time, the peer and the tail, around nine short fields.
_DIRECT_MIN: Final = 40
#: Whether this module runs compiled (mypyc, hatch_build.py): only then is reading a record byte by byte cheaper
#: than orjson's parse (~3.5k against ~6.5k instructions); interpreted, the byte loop costs ~17k.
_COMPILED: Final = not __file__.endswith(".py")
#: The ``client`` column text of resolved visitors (ingest process): the same few recur, JSON once each.
_CLIENTS: Final[FifoCache[tuple[str | None, int | None], str]] = FifoCache(4096)
#: Field caps, so one frame stays small whatever a client sends.
_HOST_MAX: Final = 255
_PATH_MAX: Final = 2048
_CHAIN_MAX: Final = 1024


class AccessLog:
    """The access log sink the gate calls once per request (contract 1); only appends to the spool."""

    __slots__ = ("gpc_events", "sealer", "spool")

    def __init__(self, spool_dir: Path, *, max_spool_bytes: int = DEFAULT_MAX_SPOOL_BYTES) -> None:
        self.spool = SpoolWriter(spool_dir, max_bytes=max_spool_bytes)
        #: Set at startup when keys are configured: the spool then never holds an address in the clear (제29조).
        self.sealer: RecordSealer | None = None
        #: Set at startup: records a ``gpc`` ledger event once per visitor and policy version (records/gpc.py).
        self.gpc_events: GpcEvents | None = None

    @property
    def dropped(self) -> int:
        """Records that could not be spooled (disk full, spool over its bound); also reported in the spool."""
        return self.spool.dropped

    def log(
        self,
        scope: dict[str, Any],
        status: int,
        sent_bytes: int,
        started_ns: int,
        consent: Consent,
        user_agent: bytes,
        forwarded_for: bytes | None,
        forwarded: bytes | None,
        outcome: Outcome = "ok",
    ) -> None:
        """Append one record; never raises into the request (a failure is counted in ``dropped``).

        ``consent`` and ``user_agent`` are part of the gate's call (contract 1) but are not statutory data:
        they stay out of this log (issue #10); consent is proven by the ledger, blocked cookies by aggregates.
        """
        duration_ns = _perf_counter_ns() - started_ns
        if consent.gpc and self.gpc_events is not None:
            self.gpc_events.note(consent)
        host = b""
        for pair in scope["headers"]:
            # A tuple read by position (a generic unpack costs an iterator per header); any other pair, as ASGI
            # allows, the slow way.
            name, value = (pair[0], pair[1]) if isinstance(pair, tuple) else pair
            if name == b"host":
                host = value[:_HOST_MAX]
                break
        client = scope.get("client") or _NO_CLIENT
        peer, port = (client[0], client[1]) if isinstance(client, tuple) else client
        path = scope["path"]
        fields = (
            (_time_ns() - duration_ns) // 1_000_000,
            peer,
            port,
            host.decode("latin-1"),
            scope.get("method", "GET"),  # a WebSocket handshake is a GET
            path if len(path) <= _PATH_MAX else path[:_PATH_MAX],
            status,
            sent_bytes,
            duration_ns // 1000,
            scope.get("http_version", "1.1"),
            None if forwarded_for is None else forwarded_for[:_CHAIN_MAX].decode("latin-1"),
            None if forwarded is None else forwarded[:_CHAIN_MAX].decode("latin-1"),
            outcome,
        )
        try:
            payload = _dumps(fields)
        except orjson.JSONEncodeError:
            # A path with lone surrogates (undecodable percent-escapes) is still an access to log.
            payload = _dumps([f.encode("utf-8", "replace").decode() if isinstance(f, str) else f for f in fields])
        if self.sealer is not None:
            payload = self.sealer.seal_payload(payload)
        # Framed here rather than in ``SpoolWriter.append``: one Python call less per request.
        self.spool.append_frame(_pack(MAGIC, len(payload), _crc32(payload)) + payload)

    def close(self) -> None:
        self.spool.close()


def spooled_rows(payloads: Sequence[bytes], proxies: TrustedProxies) -> list[AccessRow]:
    """The store rows of many spooled payloads (ingest process), the payload itself kept as the row's
    ``record`` (``stores/access_rows.py``).

    Compiled, a direct visitor's record is read by position (``_direct_row``). The rest (forwarded, or in any
    other layout), and every record when interpreted, is parsed in one go for the batch; only a record with
    forwarding headers is resolved through the trusted proxies (its ``client`` column then says whom they
    named). Raises ``ValueError`` if any payload is malformed; the caller then goes one by one.
    """
    rows: list[AccessRow] = []
    others: list[bytes] = []
    try:
        if not _COMPILED:
            return _parsed_rows(payloads, proxies)
        for payload in payloads:
            row = _direct_row(payload)
            if row is None:
                others.append(payload)
            else:
                rows.append(row)
        if others:
            rows += _parsed_rows(others, proxies)
    except (orjson.JSONDecodeError, TypeError, ValueError, IndexError, KeyError) as exc:
        raise ValueError("malformed access record in the batch") from exc
    return rows


def _direct_row(payload: bytes) -> AccessRow | None:
    """The row of a record in the layout the request path writes for a visitor without forwarding headers,
    read by position; None for any other payload (it is then parsed).

    That layout is orjson's compact array: ``[`` a 13-digit time ``,"`` the peer address ``",`` … then
    ``,null,null,"`` the outcome ``"]``. Parsing it whole and freeing the 13 values built cost ~6k
    instructions per record; the reads here ~3.5k (callgrind). A string field of the JSON cannot
    forge the tail: a string ends with a quote, so ``null,null,`` before the last string is the two
    forwarding fields.
    """
    size = len(payload)
    # [ , " at the start and "] at the end, or it is not that layout.
    if (
        size < _DIRECT_MIN
        or payload[0] != 0x5B
        or payload[14] != 0x2C
        or payload[15] != 0x22
        or (payload[size - 1] != 0x5D or payload[size - 2] != 0x22)
    ):
        return None
    if not payload[1:14].isdigit():  # ASCII digits only (a negative or fractional time is parsed)
        return None
    peer_end = 16
    while True:  # to the closing quote: a plain ASCII address has no escape and no control byte
        octet = payload[peer_end]
        if octet == 0x22:
            break
        if octet == 0x5C or octet < 0x20 or octet > 0x7E:
            return None
        peer_end += 1
    outcome_at = size - 3
    while True:  # back to the outcome's opening quote (outcomes are plain words)
        octet = payload[outcome_at]
        if octet == 0x22:
            break
        if octet == 0x5C or outcome_at <= peer_end:
            return None
        outcome_at -= 1
    tail_at = outcome_at - _NO_FORWARDING_SIZE
    if tail_at <= peer_end or payload[tail_at:outcome_at] != _NO_FORWARDING:
        return None
    # Sliced from the text: everything up to the address's end is ASCII, so its offsets are the bytes'.
    # ``int`` of a str is a compiled primitive; a digit loop over the bytes cost twice as much (callgrind).
    text = payload.decode()
    return (int(text[1:14]), text[16:peer_end], "", text)


def _parsed_rows(payloads: Sequence[bytes], proxies: TrustedProxies) -> list[AccessRow]:
    """Rows of payloads parsed as JSON: one parse for the batch, no Python frame per record."""
    if not payloads:
        return []
    fields = orjson.loads(b"[" + b",".join(payloads) + b"]")
    # Text, not bytes: the sqlite3 module binds exact str without looking up an adapter (~1k per value).
    # orjson escapes every control character, so the unit separator cannot occur inside a payload.
    texts = b"\x1f".join(payloads).decode().split("\x1f")
    rows: list[AccessRow] = []
    for f, t in zip(fields, texts, strict=True):
        # Checked per record in the compiled loop (a ``set(map(...))`` over the batch cost ~1.5k a record):
        # a time that is not an integer would stall the store.
        if len(f) != _FIELD_COUNT or type(f[0]) is not int:
            raise ValueError("an access record of the wrong shape")
        rows.append((f[0], f[1], "", t) if f[10] is None and f[11] is None else _forwarded_row(f, t, proxies))
    return rows


def _forwarded_row(fields: list[Any], payload: str, proxies: TrustedProxies) -> AccessRow:
    peer, peer_port = fields[1], fields[2]
    client_ip, client_port = proxies.client(peer, peer_port, fields[10], fields[11])
    if client_ip == peer and client_port == peer_port:
        return (fields[0], peer, "", payload)
    key = (client_ip, client_port)
    client = _CLIENTS.entries.get(key)
    if client is None:
        client = orjson.dumps(key).decode()
        _CLIENTS.put(key, client)
    return (fields[0], client_ip, client, payload)


def decode(payload: bytes, proxies: TrustedProxies) -> AccessRecord:
    """The named record of one spooled payload as it would be stored; raises ``ValueError`` if malformed."""
    (row,) = spooled_rows([payload], proxies)
    try:
        return record_of_row(*row)
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError("malformed access record") from exc

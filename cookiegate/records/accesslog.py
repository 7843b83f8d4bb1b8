"""The statutory access log's sink: one record per request, appended to the spool on the request path.

통신비밀보호법 제2조11호 마·사목 and 시행령 제41조②2 require a site to keep log records and the client address
of every access, so every request leaves exactly one record, whatever its ``outcome`` (a client that hangs
up mid-response, an app that fails or never answers, a WebSocket handshake). The request path formats the raw
facts and appends one frame (~1-2 µs); everything slow — resolving the client through trusted proxies,
the store — happens in the ingest process (``records/ingest.py``).

Never recorded: cookie values, query strings, request or response bodies, the User-Agent, the consent state.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Final

import orjson
from starlette.types import Scope

from cookiegate.consent import Consent
from cookiegate.proxies import TrustedProxies
from cookiegate.records.gpc import GpcEvents
from cookiegate.records.sealing import RecordSealer
from cookiegate.records.spool import DEFAULT_MAX_SPOOL_BYTES, HEADER, MAGIC, SpoolWriter
from cookiegate.records.types import AccessRecord, Outcome

_perf_counter_ns: Final = time.perf_counter_ns
_time_ns: Final = time.time_ns
_dumps: Final = orjson.dumps
_pack: Final = HEADER.pack
_crc32: Final = zlib.crc32
_NO_CLIENT: Final = (None, None)
_PROTOCOLS: Final = {v: f"HTTP/{v}" for v in ("1.0", "1.1", "2", "2.0", "3")}
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
        scope: Scope,
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
        for name, value in scope["headers"]:
            if name == b"host":
                host = value[:_HOST_MAX]
                break
        peer, port = scope.get("client") or _NO_CLIENT
        fields = (
            (_time_ns() - duration_ns) // 1_000_000,
            peer,
            port,
            host.decode("latin-1"),
            scope.get("method", "GET"),  # a WebSocket handshake is a GET
            scope["path"][:_PATH_MAX],
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


def decode(payload: bytes, proxies: TrustedProxies) -> AccessRecord:
    """The stored record of one spooled payload (in the ingest process); raises ``ValueError`` if malformed."""
    try:
        (ts_ms, peer, peer_port, host, method, path, status, sent_bytes, duration_us, http_version,
         forwarded_for, forwarded, outcome) = orjson.loads(payload)  # fmt: skip
        client_ip, client_port = proxies.client(peer, peer_port, forwarded_for, forwarded)
        protocol = _PROTOCOLS.get(http_version) or f"HTTP/{http_version}"
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError("malformed access record") from exc
    chain = forwarded_for if forwarded_for is not None else forwarded
    return AccessRecord(ts_ms, client_ip, client_port, peer, chain, host, method, path, status, protocol,
                        sent_bytes, duration_us, outcome)  # fmt: skip


_new_record: Final = tuple.__new__  # a NamedTuple built without its Python-level ``__new__`` (~1k instructions)


def decode_batch(payloads: list[bytes], proxies: TrustedProxies) -> list[AccessRecord]:
    """``decode`` of many payloads at once: one JSON parse for the batch, no Python frame per record.

    Raises ``ValueError`` if any payload is malformed; the caller then decodes one by one.
    """
    try:
        rows = orjson.loads(b"[" + b",".join(payloads) + b"]")
        client = proxies.client
        records: list[AccessRecord] = []
        append = records.append
        for ts_ms, peer, peer_port, host, method, path, status, sent, duration, version, xff, fwd, outcome in rows:
            if xff is None and fwd is None:
                client_ip, client_port, chain = peer, peer_port, None
            else:
                client_ip, client_port = client(peer, peer_port, xff, fwd)
                chain = xff if xff is not None else fwd
            protocol = _PROTOCOLS.get(version) or f"HTTP/{version}"
            append(_new_record(AccessRecord, (ts_ms, client_ip, client_port, peer, chain, host, method, path,
                                              status, protocol, sent, duration, outcome)))  # fmt: skip
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError("malformed access record in the batch") from exc
    return records

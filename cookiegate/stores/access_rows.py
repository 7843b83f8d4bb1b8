"""The access record as a store row: two queried columns, the rest kept as the spooled payload (schema 3).

Binding the 13 fields of an ``AccessRecord`` as columns cost the ingester ~18k instructions per record
(callgrind; every TEXT parameter is copied and converted by SQLite). A row is ``(ts_ms, client_ip, client,
record)``: the time (partitions, purge, ranges) and the client address or its lookup tag (열람 by address,
legal holds) are columns, and ``record`` is the spool payload exactly as the request path wrote it (a JSON
array, ``accesslog.PAYLOAD_FIELDS``), so storing it costs one text bind and no re-encoding.
``client`` completes the payload: empty when the visitor is the TCP peer (nothing forwarded), ``[ip, port]``
as JSON when trusted proxies resolved someone else, or the sealed address evidence when addresses are
sealed at rest (제29조; ``records/sealing.py``: the payload then holds no address).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import orjson

from cookiegate.crypto import SEALED_PREFIX
from cookiegate.records.types import AccessRecord

#: ``(ts_ms, client_ip, client, record)``: one stored access (see the module docstring).
AccessRow = tuple[int, str | None, str, str]
ROW_COLUMNS: Final = ("ts_ms", "client_ip", "client", "record")
_SEALED: Final = SEALED_PREFIX + "."
_PROTOCOLS: Final = {v: f"HTTP/{v}" for v in ("1.0", "1.1", "2", "2.0", "3")}


def protocol_of(version: str) -> str:
    """``HTTP/1.1`` for the ASGI ``http_version`` ``1.1``."""
    return _PROTOCOLS.get(version) or f"HTTP/{version}"


def row_of_record(record: AccessRecord) -> AccessRow:
    """The row of a record built elsewhere (schema 2 rows migrated, ``ingest`` of named records)."""
    r = record
    version = r.protocol[5:] if r.protocol.startswith("HTTP/") else r.protocol
    chain = r.forwarded_chain
    if chain is not None and chain.startswith(_SEALED):  # sealed evidence: the payload keeps no address
        client = chain
        chain = None
    else:
        client = orjson.dumps([r.client_ip, r.client_port]).decode()
    payload = orjson.dumps([r.ts_ms, r.peer_ip, None, r.host, r.method, r.path, r.status, r.sent_bytes,
                            r.duration_us, version, chain, None, r.outcome]).decode()  # fmt: skip
    return (r.ts_ms, r.client_ip, client, payload)


def rows_of_records(records: Iterable[AccessRecord]) -> list[AccessRow]:
    return [row_of_record(r) for r in records]


def record_of_row(ts_ms: int, client_ip: str | None, client: str | None, payload: str | bytes) -> AccessRecord:
    """The named record of a stored row (readers: export, rights requests, verify)."""
    (_, peer, peer_port, host, method, path, status, sent, duration, version, xff, fwd,
     outcome) = orjson.loads(payload)  # fmt: skip
    chain = xff if xff is not None else fwd
    if not client:
        client_port = peer_port
    elif client.startswith(_SEALED):
        client_port, chain = None, client
    else:
        client_ip, client_port = orjson.loads(client)
    return AccessRecord(ts_ms, client_ip, client_port, peer, chain, host, method, path, status,
                        protocol_of(version), sent, duration, outcome)  # fmt: skip


def records_of_rows(rows: Sequence[AccessRow]) -> list[AccessRecord]:
    """``record_of_row`` of many rows (a store that keeps named columns, e.g. PostgreSQL)."""
    return [record_of_row(*row) for row in rows]

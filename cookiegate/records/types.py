"""The named records that cross the boundaries between the request path, the spool, the ingester and the stores.

Both are ``NamedTuple``: named for every reader, and a plain tuple for ``executemany`` and PostgreSQL ``COPY``
without a conversion per row (a frozen 13-field dataclass costs ~1.5 µs to build, a NamedTuple ~0.3 µs).
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple, get_args

#: How a request ended (contract 1 between the gate and the access log sink).
Outcome = Literal["ok", "disconnected", "error", "no-response", "ws-accepted", "ws-denied"]
OUTCOMES: Final[tuple[str, ...]] = get_args(Outcome)


class AccessRecord(NamedTuple):
    """One access in the statutory log: 로그기록자료 and 접속지 추적자료 (통신비밀보호법 제2조11호 마·사목).

    Only the statutory record set, nothing else (개인정보 보호법 제21조③ and issue #10: data kept under a legal
    duty is kept apart and used for nothing else): no consent state, no User-Agent, no cookie names.
    ``ts_ms`` is the request start in UTC ms; ``client_ip``/``client_port`` the visitor resolved through trusted
    proxies, ``peer_ip`` the direct TCP peer, ``forwarded_chain`` the raw forwarding header as evidence;
    ``path`` never carries the query string; ``outcome`` says whether the response was completed (``None`` in a
    record upgraded from a schema-1 file, which never recorded it: unknown, not guessed).
    """

    ts_ms: int
    client_ip: str | None
    client_port: int | None
    peer_ip: str | None
    forwarded_chain: str | None
    host: str
    method: str
    path: str
    status: int
    protocol: str
    sent_bytes: int
    duration_us: int
    outcome: str | None


#: Column order of an access record in every store and export.
ACCESS_COLUMNS: Final[tuple[str, ...]] = AccessRecord._fields


class LedgerEvent(NamedTuple):
    """One consent change, the proof of consent 개인정보 보호법 제22조 asks the site to keep.

    The API builds it with ``seq=0, prev_hash="", hash=""``; the ledger store assigns the chain fields when it
    appends (under its write lock, so several ingesters keep one unbroken chain). ``granted`` is the granted
    categories comma-joined in policy order; ``ip_prefix`` at most a /24 or /48 network, never an address.
    """

    at_ms: int
    consent_id: str
    policy_version: str
    locale: str
    granted: str
    method: str
    under14: int
    gpc: int
    minor: int
    ip_prefix: str | None
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""
    #: 개인정보 보호법 시행령 제17조의2: how and when the site verified the legal guardian (guardian events only).
    guardian_method: str | None = None
    guardian_at_ms: int | None = None
    #: SHA-256 of the full policy text the visitor was shown (``policy_archive.py``; 제22조 proof of consent).
    policy_sha256: str | None = None


#: Fields after the chain fields: hashed only when set, so chains written before them still verify.
LEDGER_EVIDENCE: Final[tuple[str, ...]] = ("guardian_method", "guardian_at_ms", "policy_sha256")
#: Column order of a ledger event in every store.
LEDGER_COLUMNS: Final[tuple[str, ...]] = LedgerEvent._fields

"""The access log sink: one statutory record per request, nothing else in it, whatever the outcome."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.consent import Consent, no_consent
from cookiegate.proxies import TrustedProxies
from cookiegate.records.accesslog import AccessLog, decode
from cookiegate.records.channels import spool_root
from cookiegate.records.spool import parse_frames, segments
from cookiegate.records.status import save_trusted_proxies
from cookiegate.records.types import OUTCOMES, AccessRecord
from cookiegate.stores.sqlite_access import SQLiteAccessStore
from tests.conftest import SECRET, tiny_app
from tests.store_support import drain

UA = b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
CONSENT = Consent(granted=frozenset({"necessary", "analytics"}), version="v1", consent_id="c1", gpc=True, chosen=True)


def scope_for(path: str = "/shop", peer: str = "203.0.113.9", host: bytes = b"shop.test") -> dict[str, Any]:
    return {
        "type": "http", "method": "GET", "path": path, "query_string": b"q=secret", "http_version": "1.1",
        "client": (peer, 40123), "headers": [(b"host", host), (b"cookie", b"sid=cookievalue")],
    }  # fmt: skip


def records(data: Path) -> list[AccessRecord]:
    drain(data)
    store = SQLiteAccessStore(data / "access.db")
    try:
        return list(store.records(0, 2**62))
    finally:
        store.close()


def sink_for(data: Path, proxies: tuple[str, ...] = ()) -> AccessLog:
    save_trusted_proxies(data, proxies)
    return AccessLog(spool_root(data) / "access")


def test_a_request_becomes_one_statutory_record_and_nothing_else(tmp_path: Path) -> None:
    """개인정보 보호법 제21조③ (gap 2): only 시행령 제41조's record set is kept, no consent or User-Agent."""
    sink = sink_for(tmp_path)
    sink.log(scope_for(), 200, 1234, time.perf_counter_ns(), CONSENT, UA, None, None, "ok")
    (record,) = records(tmp_path)
    assert (record.path, record.host, record.method, record.status) == ("/shop", "shop.test", "GET", 200)
    assert (record.client_ip, record.client_port, record.peer_ip) == ("203.0.113.9", 40123, "203.0.113.9")
    assert (record.sent_bytes, record.protocol, record.outcome) == (1234, "HTTP/1.1", "ok")
    on_disk = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for secret in (b"cookievalue", b"q=secret", b"Chrome", b"analytics"):
        assert secret not in on_disk, f"{secret!r} is not statutory data and must not be kept with the log"
    assert ((tmp_path / "access.db").stat().st_mode & 0o777) == 0o600


def test_every_outcome_is_kept_with_its_record(tmp_path: Path) -> None:
    sink = sink_for(tmp_path)
    for outcome in OUTCOMES:
        status = {"ws-accepted": 101, "ws-denied": 403, "no-response": 500, "error": 500}.get(outcome, 200)
        sink.log(scope_for(f"/{outcome}"), status, 7, time.perf_counter_ns(), CONSENT, b"", None, None, outcome)  # type: ignore[arg-type]
    assert [(r.path, r.outcome) for r in records(tmp_path)] == [(f"/{o}", o) for o in OUTCOMES]


def test_a_websocket_handshake_is_logged_as_a_get(tmp_path: Path) -> None:
    sink = sink_for(tmp_path)
    scope = {"type": "websocket", "path": "/ws", "headers": [(b"host", b"shop.test")], "client": ("192.0.2.4", 5)}
    sink.log(scope, 101, 0, time.perf_counter_ns(), CONSENT, b"", None, None, "ws-accepted")
    (record,) = records(tmp_path)
    assert (record.method, record.status, record.outcome) == ("GET", 101, "ws-accepted")


def test_forwarded_for_from_an_untrusted_peer_is_kept_as_evidence_not_believed(tmp_path: Path) -> None:
    sink = sink_for(tmp_path, ("10.0.0.0/8",))
    sink.log(scope_for(peer="198.51.100.7"), 200, 0, time.perf_counter_ns(), CONSENT, b"", b"1.2.3.4", None)
    (record,) = records(tmp_path)
    assert (record.client_ip, record.forwarded_chain) == ("198.51.100.7", "1.2.3.4")


def test_forwarded_for_from_a_trusted_proxy_gives_the_rightmost_untrusted_address(tmp_path: Path) -> None:
    sink = sink_for(tmp_path, ("10.0.0.0/8",))
    xff = b"6.6.6.6, 198.51.100.20, 10.1.1.1"  # spoofed first hop, real client, inner proxy
    sink.log(scope_for(peer="10.0.0.2"), 200, 0, time.perf_counter_ns(), CONSENT, b"", xff, None)
    sink.log(scope_for(peer="10.0.0.2"), 200, 0, time.perf_counter_ns(), CONSENT, b"", None,
             b'for="[2001:db8::7]:4711";proto=https')  # fmt: skip
    first, second = records(tmp_path)
    assert (first.client_ip, first.peer_ip) == ("198.51.100.20", "10.0.0.2")
    assert (second.client_ip, second.client_port) == ("2001:db8::7", 4711)


def test_a_path_that_is_not_valid_unicode_is_still_logged(tmp_path: Path) -> None:
    sink = sink_for(tmp_path)
    sink.log(scope_for("/caf\udce9"), 404, 0, time.perf_counter_ns(), CONSENT, b"", None, None)
    (record,) = records(tmp_path)
    assert record.status == 404 and record.path.startswith("/caf")


def test_the_gate_logs_its_own_api_and_the_app(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TestClient(CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data), base_url="http://shop.test") as c:
        c.get("/echo?utm_source=x")
        c.get("/_cookiegate/policy")
    # Leaving the lifespan stops the gate's ingest process after its last pass: everything is stored.
    store = SQLiteAccessStore(data / "access.db")
    paths = sorted(r.path for r in store.records(0, 2**62))
    store.close()
    assert paths == ["/_cookiegate/policy", "/echo"]


def test_the_gate_does_no_io_until_it_starts(tmp_path: Path) -> None:
    data = tmp_path / "never-created"
    CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data)
    assert not data.exists(), "contract 2: no I/O in CookieGate.__init__"


@pytest.mark.parametrize("bad", ["not-a-network", "10.0.0.0/33"])
def test_trusted_proxies_reject_garbage(bad: str) -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        CookieGate(tiny_app(), secret_keys=[SECRET], trusted_proxies=[bad])


def test_a_malformed_spooled_record_is_counted_and_the_others_stored(tmp_path: Path) -> None:
    sink = sink_for(tmp_path)
    sink.log(scope_for("/before"), 200, 0, time.perf_counter_ns(), CONSENT, b"", None, None)
    sink.spool.append(b'["not", "an", "access", "record"]')  # checksummed but wrong: a writer bug, not a tear
    sink.log(scope_for("/after"), 200, 0, time.perf_counter_ns(), CONSENT, b"", None, None)
    assert [r.path for r in records(tmp_path)] == ["/before", "/after"]


def test_headers_and_client_in_any_asgi_shape_are_recorded(tmp_path: Path) -> None:
    sink = AccessLog(tmp_path / "access")
    scope = {"type": "http", "method": "GET", "path": "/shapes", "headers": ([b"host", b"shop.example"],),
             "client": ["192.0.2.9", 4321]}  # fmt: skip
    sink.log(scope, 200, 5, time.perf_counter_ns(), no_consent("v1"), b"", None, None, "ok")
    sink.close()
    (payload,) = [p for path in segments(tmp_path / "access") for p in parse_frames(path.read_bytes(), sealed=True)[0]]
    record = decode(payload, TrustedProxies(()))
    assert (record.host, record.peer_ip, record.client_port) == ("shop.example", "192.0.2.9", 4321)

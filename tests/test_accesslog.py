"""The access log: what a request leaves in the store, through trusted proxies, and with the gate around an app."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.accesslog import AccessLogWriter, TrustedProxies, recover_spool
from cookiegate.consent import Consent
from cookiegate.stores import ACCESS_COLUMNS
from cookiegate.stores.sqlite import SQLiteAccessStore
from tests.conftest import SECRET, tiny_app

UA = b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
CONSENT = Consent(granted=frozenset({"necessary", "analytics"}), version="v1", consent_id="c1", gpc=True, chosen=True)


def scope_for(path: str = "/shop", peer: str = "203.0.113.9", host: bytes = b"shop.test") -> dict[str, Any]:
    return {
        "type": "http", "method": "GET", "path": path, "query_string": b"q=secret", "http_version": "1.1",
        "client": (peer, 40123), "headers": [(b"host", host), (b"cookie", b"sid=cookievalue")],
    }  # fmt: skip


def rows(store: SQLiteAccessStore) -> list[dict[str, object]]:
    return [dict(zip(ACCESS_COLUMNS, row, strict=True)) for row in store.records(0, 2**62)]


def writer_for(tmp_path: Path, proxies: tuple[str, ...] = ()) -> tuple[AccessLogWriter, Path]:
    db = tmp_path / "access.db"
    writer = AccessLogWriter(
        lambda: SQLiteAccessStore(db), tmp_path / "spool", trusted_proxies=TrustedProxies(proxies), interval=0.01
    )
    return writer, db


def test_a_request_becomes_one_record_without_query_or_cookies(tmp_path: Path) -> None:
    writer, db = writer_for(tmp_path)
    writer.start()
    writer.log(scope_for(), 200, 1234, time.perf_counter_ns(), CONSENT, UA, None, None)
    writer.stop()
    (row,) = rows(SQLiteAccessStore(db))
    assert row["path"] == "/shop" and row["host"] == "shop.test" and row["method"] == "GET"
    assert row["client_ip"] == "203.0.113.9" and row["client_port"] == 40123
    assert row["status"] == 200 and row["sent_bytes"] == 1234 and row["protocol"] == "HTTP/1.1"
    assert row["ua_family"] == "Chrome" and row["ua_os"] == "Windows" and row["ua_bot"] == 0
    assert row["granted"] == "necessary,analytics" and row["gpc"] == 1 and row["under14"] == 0
    stored = db.read_bytes() + (Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists() else b"")
    assert b"cookievalue" not in stored and b"q=secret" not in stored
    assert not list((tmp_path / "spool").glob("*.spool")), "stop() drains and deletes the spool"
    assert (db.stat().st_mode & 0o777) == 0o600


def test_forwarded_for_from_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    writer, db = writer_for(tmp_path, proxies=("10.0.0.0/8",))
    writer.start()
    writer.log(scope_for(peer="198.51.100.7"), 200, 0, time.perf_counter_ns(), CONSENT, b"", b"1.2.3.4", None)
    writer.stop()
    (row,) = rows(SQLiteAccessStore(db))
    assert row["client_ip"] == "198.51.100.7"
    assert row["forwarded_chain"] == "1.2.3.4", "kept as evidence, not believed"


def test_forwarded_for_from_a_trusted_proxy_gives_the_rightmost_untrusted_address(tmp_path: Path) -> None:
    writer, db = writer_for(tmp_path, proxies=("10.0.0.0/8",))
    writer.start()
    xff = b"6.6.6.6, 198.51.100.20, 10.1.1.1"  # spoofed first hop, real client, inner proxy
    writer.log(scope_for(peer="10.0.0.2"), 200, 0, time.perf_counter_ns(), CONSENT, b"", xff, None)
    writer.log(scope_for(peer="10.0.0.2"), 200, 0, time.perf_counter_ns(), CONSENT, b"", None,
               b'for="[2001:db8::7]:4711";proto=https')
    writer.stop()
    first, second = rows(SQLiteAccessStore(db))
    assert (first["client_ip"], first["peer_ip"]) == ("198.51.100.20", "10.0.0.2")
    assert (second["client_ip"], second["client_port"]) == ("2001:db8::7", 4711)


def test_trusted_proxies_reject_garbage() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        TrustedProxies(("not-a-network",))


def test_a_full_spool_drops_and_counts_instead_of_failing(tmp_path: Path) -> None:
    writer, _ = writer_for(tmp_path)
    writer.max_spool_bytes = 100
    for _ in range(5):
        writer.log(scope_for(), 200, 0, time.perf_counter_ns(), CONSENT, UA, None, None)
    assert writer.dropped >= 3


def test_a_store_outage_loses_nothing_once_the_store_is_back(tmp_path: Path) -> None:
    db = tmp_path / "access.db"
    available = {"up": False}

    def factory() -> SQLiteAccessStore:
        if not available["up"]:
            raise OSError("store down")
        return SQLiteAccessStore(db)

    writer = AccessLogWriter(factory, tmp_path / "spool", trusted_proxies=TrustedProxies(()), interval=0.01)
    writer.start()
    for i in range(50):
        writer.log(scope_for(f"/p{i}"), 200, 0, time.perf_counter_ns(), CONSENT, UA, None, None)
    time.sleep(0.05)
    available["up"] = True
    writer.stop()
    assert len(rows(SQLiteAccessStore(db))) == 50


def test_a_dead_process_spool_is_recovered_once(tmp_path: Path) -> None:
    writer, db = writer_for(tmp_path)
    for i in range(3):  # never started: like a process killed before its writer ran
        writer.log(scope_for(f"/r{i}"), 200, 0, time.perf_counter_ns(), CONSENT, UA, None, None)
    store = SQLiteAccessStore(db)
    assert recover_spool(tmp_path / "spool", store) == 0, "a live process's segment is locked"
    for segment in writer._segments:  # the process dies: the kernel drops its locks
        import os

        os.close(segment.write_fd)
    assert recover_spool(tmp_path / "spool", store) == 1
    assert recover_spool(tmp_path / "spool", store) == 0
    assert [r["path"] for r in rows(store)] == ["/r0", "/r1", "/r2"]


def test_the_gate_logs_its_own_api_and_the_app(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TestClient(CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data), base_url="http://shop.test") as c:
        c.get("/echo?utm_source=x")
        c.get("/_cookiegate/policy")
    paths = sorted(str(r["path"]) for r in rows(SQLiteAccessStore(data / "access.db")))
    assert "/echo" in paths and any(p.startswith("/_cookiegate") for p in paths)


def test_record_fields_are_the_store_columns() -> None:
    from dataclasses import fields

    from cookiegate.accesslog import AccessRecord, as_row

    assert tuple(f.name for f in fields(AccessRecord)) == ACCESS_COLUMNS
    record = AccessRecord(*range(len(ACCESS_COLUMNS)))  # type: ignore[arg-type]
    assert as_row(record) == tuple(range(len(ACCESS_COLUMNS)))

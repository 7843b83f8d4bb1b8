"""No client address in the clear in any file under the data dir (개인정보 보호법 제29조, 안전성 확보조치 기준
제7조), and a lawful export that opens only what the permit covers (통신비밀보호법 제13조)."""

from __future__ import annotations

import ipaddress
import re
import sqlite3
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.cli import main
from cookiegate.keyfile import KEY_FILE_ENV, KEYS_ENV, generate
from cookiegate.records.channels import spool_root
from cookiegate.records.rights import RIGHTS_FILE
from cookiegate.records.staff_log import STAFF_LOG, staff_reads
from cookiegate.services import open_services
from cookiegate.stores.sqlite_access import SQLiteAccessStore
from tests.conftest import SECRET, accept, tiny_app
from tests.store_support import sealed_site

CLIENT = ("203.0.113.77", 51234)
FORWARDED = "198.51.100.23"
PERMIT = ["--agency", "Seoul police", "--permit", "2026-S-1234", "--court", "서울중앙지방법원",
          "--permit-date", "2026-11-20", "--operator", "kim", "--reason", "permit 2026-S-1234"]  # fmt: skip


@pytest.fixture
def sealed_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir the gate filled with a few requests, with keys configured outside it."""
    with sealed_site(tmp_path, monkeypatch, CLIENT) as client:
        for _ in range(3):
            assert client.get("/echo", headers={"x-forwarded-for": FORWARDED}).status_code == 200
        client.post("/_cookiegate/consent", json={"granted": ["analytics"], "under14": False})
    return tmp_path / "data"


def export_args(data_dir: Path, *extra: str) -> list[str]:
    window = ["--from", "2000-01-01", "--to", "2099-12-31", "--scope-from", "2000-01-01", "--scope-to", "2099-12-31"]
    return ["export", "--data-dir", str(data_dir), *window, *PERMIT, *extra]


def _everything_under(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


# Two visitors, one per address family, each with a forwarding header the gate keeps as evidence, and a source
# port each: every one of them is personal data (개인정보 보호법 제29조) and must be sealed wherever it lands.
V4 = ("203.0.113.77", 51234)
V6 = ("2001:db8:85a3::8a2e:370:7334", 52345)
FORWARDED_V6 = "2001:db8:ffff::42"
ADDRESSES = (V4[0], V6[0], FORWARDED, FORWARDED_V6)
PORTS = (V4[1], V6[1], 4711)


def plain_addresses(directory: Path) -> list[str]:
    """Each client address or port found in the clear in a file under ``directory``: ``file: form``.

    Addresses in text (compressed and exploded, any case, which also covers IPv4-mapped IPv6 and
    ``ip:port``) and packed (4 or 16 bytes); ports as a standalone decimal number (a 2-byte packed port
    would match random ciphertext by chance, and no store keeps a port in binary).
    """
    found: list[str] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        lowered = raw.lower()
        for address in map(ipaddress.ip_address, ADDRESSES):
            found += [f"{path.name}: {form}" for form in {address.compressed, address.exploded}
                      if form.encode() in lowered]  # fmt: skip
            found += [f"{path.name}: packed {address}"] if address.packed in raw else []
        found += [f"{path.name}: port {port}" for port in PORTS
                  if re.search(rb"(?<![0-9A-Za-z])%d(?![0-9A-Za-z])" % port, raw)]  # fmt: skip
    return found


def _visit(data_dir: Path, client: tuple[str, int], forwarded: str) -> list[str]:
    """Page views, a blocked cookie, a choice, a child's choice and GPC from ``client``; nothing ingested yet.

    Returns what ``plain_addresses`` finds while the gate is still writing its spool.
    """
    services = open_services(data_dir=data_dir, access_log_url=None, ledger_url=None, access_log=True,
                             retention_months=3, trusted_proxies=(), ingest=False)  # fmt: skip
    gate = CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data_dir, services=services)
    with TestClient(gate, base_url="http://shop.test", client=client) as browser:
        browser.get("/echo", headers={"x-forwarded-for": forwarded})
        browser.get("/echo", headers={"forwarded": f'for="[{FORWARDED_V6}]:4711"'})
        accept(browser, ["analytics"])
        browser.get("/echo", params={"set": "_ga"}, headers={"sec-gpc": "1"})  # a gpc event, a blocked cookie
        accept(TestClient(gate, base_url="http://shop.test", client=client), ["analytics"], under14=True)
        assert any(spool_root(data_dir).rglob("*.spool")), "the records wait in the spool"
        return plain_addresses(data_dir)


def test_article29_no_client_address_in_plain_text_in_any_file_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IPv4 and IPv6, text and packed, with ports: none in the spool, the stores (with their WAL and shared
    memory files), the ledger, the aggregates, the staff log, the rights book or the disclosure ledger."""
    keys = tmp_path / "etc" / "keys.json"
    generate(keys)
    monkeypatch.setenv(KEY_FILE_ENV, str(keys))
    data = tmp_path / "data"
    assert _visit(data, V4, FORWARDED) == [], "the spool, while the gate writes it"
    assert main(["ingest", "--data-dir", str(data), "--once", "--create"]) == 0
    readers = [sqlite3.connect(data / f"{name}.db") for name in ("access", "ledger", "aggregates")]
    try:
        for reader in readers:  # a reader keeps the WAL beside the database after the ingester closes
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        assert _visit(data, V6, FORWARDED_V6) == []
        assert plain_addresses(data) == []
        assert main(["ingest", "--data-dir", str(data), "--once"]) == 0
        base = ["--data-dir", str(data)]
        assert main(["hold", "add", *base, "--ip", V6[0], "--from", "2000-01-01", "--to", "2099-12-31",
                     "--reason", "case 7"]) == 0  # fmt: skip
        assert main(["rights", "add", *base, "--type", "access", "--requester", "홍길동", "--identity-check",
                     "mobile-id", "--ip", V4[0]]) == 0  # fmt: skip
        args = export_args(data, "--scope-ip", V6[0], "--ip", V6[0], "--out", str(tmp_path / "out" / "x.jsonl"))
        assert main(args) == 0
        names = {p.name for p in data.rglob("*") if p.is_file()}
        assert {"access.db-wal", "access.db-shm", "ledger.db-wal", "aggregates.db", STAFF_LOG, RIGHTS_FILE} <= names
        assert (data / "access.db-wal").stat().st_size > 0
        assert plain_addresses(data) == []
    finally:
        for reader in readers:
            reader.close()
    assert plain_addresses(data) == []
    exported = (tmp_path / "out" / "x.jsonl").read_bytes()
    assert V6[0].encode() in exported and b"52345" in exported, "the permit's export opens the sealed address"


def test_the_scan_finds_every_client_address_when_no_key_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: without keys the same visits leave every address and port in the clear."""
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.delenv(KEYS_ENV, raising=False)
    data = tmp_path / "data"
    in_spool = {line.split(": ", 1)[1] for line in _visit(data, V6, FORWARDED_V6)}
    assert in_spool >= {V6[0], FORWARDED_V6, "port 52345", "port 4711"}
    _visit(data, V4, FORWARDED)
    assert main(["ingest", "--data-dir", str(data), "--once", "--create"]) == 0
    stored = {line.split(": ", 1)[1] for line in plain_addresses(data) if line.startswith("access.db")}
    assert stored >= {V4[0], FORWARDED, V6[0], FORWARDED_V6, "port 51234", "port 52345", "port 4711"}
    packed = data / "packed.bin"
    packed.write_bytes(b"\x00" + ipaddress.ip_address(V6[0]).packed + ipaddress.ip_address(V4[0]).packed)
    assert {f"packed.bin: packed {V6[0]}", f"packed.bin: packed {V4[0]}"} <= set(plain_addresses(data))


def test_article13_export_opens_one_address_within_the_permit_and_logs_the_operator(
    sealed_data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "handover" / "export.jsonl"
    args = export_args(sealed_data_dir, "--scope-ip", "203.0.113.0/24")
    assert main([*args, "--ip", CLIENT[0], "--out", str(out)]) == 0
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == 4  # three page views and the consent POST
    assert {(r["client_ip"], r["client_port"]) for r in rows} == {CLIENT}
    assert [r["path"] for r in rows if r["forwarded_chain"] == FORWARDED] == ["/echo"] * 3
    cidr = tmp_path / "handover" / "cidr.jsonl"
    assert main([*args, "--ip", "203.0.113.0/25", "--out", str(cidr)]) == 0
    assert len(cidr.read_bytes().splitlines()) == 4
    (read, _) = staff_reads(sealed_data_dir)
    assert read["operator"] == "kim" and read["command"] == "export" and "2026-S-1234" in read["permit"]
    store = SQLiteAccessStore(sealed_data_dir / "access.db")
    (entry, _) = store.disclosures()  # gap 7: the disclosure ledger names the permit's date, court and operator
    store.close()
    assert entry.permit == "2026-S-1234 (서울중앙지방법원, 2026-11-20); operator kim" and entry.records == 4
    assert entry.agency == "Seoul police" and entry.ip is not None and CLIENT[0] not in entry.ip
    assert CLIENT[0].encode() not in _everything_under(sealed_data_dir)  # the staff log seals the scope too


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ip", "198.51.100.7"], "not within the permit's addresses"),
        (["--ip", "203.0.113.0/16"], "not within the permit's addresses"),
        ([], "name the address"),
        (["--ip", CLIENT[0], "--from", "1999-01-01"], "outside the permit's period"),
    ],
)
def test_article13_export_outside_the_permit_is_refused(
    sealed_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "x.jsonl"
    args = export_args(sealed_data_dir, "--scope-ip", "203.0.113.0/24", "--out", str(out), *extra)
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert staff_reads(sealed_data_dir) == []


def test_article29_plain_text_export_into_the_data_dir_is_refused(
    sealed_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = sealed_data_dir / "export.jsonl"
    args = export_args(sealed_data_dir, "--scope-ip", CLIENT[0], "--ip", CLIENT[0], "--out", str(out))
    assert main(args) == 2
    assert "inside the data dir" in capsys.readouterr().err and not out.exists()


def test_article29_legal_hold_on_a_sealed_log_names_the_address_by_its_tag(
    sealed_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["hold", "add", "--data-dir", str(sealed_data_dir), "--from", "2000-01-01", "--to", "2099-12-31"]
    assert main([*base, "--ip", CLIENT[0], "--reason", "case 7"]) == 0
    assert main(["hold", "list", "--data-dir", str(sealed_data_dir)]) == 0
    listed = capsys.readouterr().out
    assert CLIENT[0] not in listed.splitlines()[-1]
    assert main([*base, "--ip", "203.0.113.0/24", "--reason", "case 8"]) == 2
    assert "one address" in capsys.readouterr().err

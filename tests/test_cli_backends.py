"""Every store command works the same against SQLite and PostgreSQL store URLs (issue #8), with client addresses
encrypted at rest too (issue #10: holds by lookup tag, rights answers, permit-bound exports, ledger retention)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.cli import main
from cookiegate.keyfile import KEY_FILE_ENV
from cookiegate.policy import Policy
from cookiegate.records.sealing import is_sealed_record
from cookiegate.records.types import AccessRecord
from cookiegate.stores import open_access_store, open_ledger_store
from tests.conftest import SECRET, accept, tiny_app

PERMIT = ["--agency", "police", "--permit", "2025-77", "--court", "서울중앙지방법원", "--permit-date", "2025-01-02",
          "--operator", "kim", "--reason", "permit 2025-77"]  # fmt: skip
VISITOR = ("203.0.113.77", 40000)


def stores_args(store_url: Callable[[str], str], tmp_path: Path) -> list[str]:
    return ["--data-dir", str(tmp_path / "data"), "--access-log-url", store_url("access"),
            "--ledger-url", store_url("ledger"), "--aggregates-url", store_url("aggregates")]  # fmt: skip


def test_store_commands_run_on_either_backend(
    store_url: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores = stores_args(store_url, tmp_path)
    assert main(["verify", *stores]) == 2, "a store that does not exist is refused"
    assert "migrate" in capsys.readouterr().err
    (tmp_path / "data").mkdir()
    assert main(["migrate", *stores]) == 0
    store = open_access_store(store_url("access"))
    seen = time.time_ns() // 1_000_000 - 10 * 86_400_000
    start, end = (time.strftime("%Y-%m-%d", time.gmtime(seen / 1000 + days * 86_400)) for days in (-5, 5))
    store.ingest([AccessRecord(seen, "203.0.113.9", 4000, "10.0.0.2", None, "shop.test", "GET", "/p", 200,
                               "HTTP/1.1", 10, 20, "ok")], segment="cli", offset=1)  # fmt: skip
    store.close()
    capsys.readouterr()
    assert main(["hold", "add", *stores, "--ip", "203.0.113.0/24", "--from", start, "--to", end,
                 "--reason", "case 7"]) == 0  # fmt: skip
    assert main(["hold", "list", *stores]) == 0 and "203.0.113.0/24" in capsys.readouterr().out
    for command in (["verify"], ["report"], ["doctor"], ["purge"]):
        assert main([*command, *stores]) == 0, command
    out = tmp_path / "disclosure.csv"
    assert main(["export", *stores, "--from", start, "--to", end, *PERMIT, "--scope-from", start, "--scope-to", end,
                 "--scope-ip", "203.0.113.0/24", "--ip", "203.0.113.9", "--out", str(out)]) == 0  # fmt: skip
    assert ",/p," in out.read_text()
    capsys.readouterr()
    assert main(["hold", "release", "1", *stores]) == 0
    assert main(["hold", "list", *stores]) == 0 and "203.0.113.0/24" not in capsys.readouterr().out
    store = open_access_store(store_url("access"))
    disclosed = [(d.agency, d.permit, d.records) for d in store.disclosures()]
    assert disclosed == [("police", "2025-77 (서울중앙지방법원, 2025-01-02); operator kim", 1)]
    store.close()


def everything_stored(url: str, tmp_path: Path) -> str:
    """Every row of every cookiegate table (PostgreSQL) or the bytes of every store file (SQLite), as text."""
    if url.startswith("sqlite:"):
        return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("*.db*"))).decode("latin-1")
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname LIKE 'cookiegate_%'")
        return "".join(str(row) for schema, table in tables.fetchall()
                       for row in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" AS t'))  # fmt: skip


def at(day: str) -> Callable[[], datetime]:
    return lambda: datetime.fromisoformat(f"{day}T00:00:00+00:00").astimezone(UTC)


def test_sealed_stores_answer_holds_rights_exports_and_ledger_retention_on_either_backend(
    store_url: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """개인정보 보호법 제29조 (sealed addresses), 제35조 (열람), 제21조 (ledger retention); 통신비밀보호법 제13조."""
    keys = tmp_path / "etc" / "keys.json"
    assert main(["keys", "generate", "--key-file", str(keys), "--data-dir", str(tmp_path / "data")]) == 0
    monkeypatch.setenv(KEY_FILE_ENV, str(keys))
    stores = stores_args(store_url, tmp_path)
    access_url, ledger_url, aggregates_url = (store_url(name) for name in ("access", "ledger", "aggregates"))
    site = tmp_path / "v2.toml"
    site.write_text('version = "2027-01-01"\neffective_date = 2027-01-01\n')
    consent_ids = []
    for policy in (None, Policy.load(site)):
        gate = CookieGate(
            tiny_app(),
            secret_keys=[SECRET],
            data_dir=tmp_path / "data",
            policy=policy,
            access_log_url=access_url,
            ledger_url=ledger_url,
            aggregates_url=aggregates_url,
        )
        with TestClient(gate, base_url="http://shop.test", client=VISITOR) as client:
            consent_ids.append(accept(client, ["analytics"])["consent_id"])
            assert client.get("/echo", params={"set": "_mystery"}).status_code == 200  # blocked and counted
            client.get("/_cookiegate/policy/versions")  # archives the version in force
    assert main(["ingest", *stores, "--once", "--create"]) == 0
    store = open_access_store(store_url("access"))
    stored = list(store.records(0, 2**62))
    store.close()
    assert len(stored) >= 4 and VISITOR[0] not in {r.client_ip for r in stored}  # the lookup tag, sealed evidence
    assert all(r.client_port is None and is_sealed_record(r) for r in stored)
    capsys.readouterr()
    assert main(["report", *stores, "--json"]) == 0
    assert {c["name"]: c["count"] for c in orjson.loads(capsys.readouterr().out)["blocked_cookies"]} == {"_mystery": 2}

    hold = ["hold", "add", *stores, "--from", "2000-01-01", "--to", "2099-12-31", "--reason", "case 7"]
    assert main([*hold, "--ip", VISITOR[0]]) == 0
    assert main(["hold", "list", *stores]) == 0
    listed = orjson.loads(capsys.readouterr().out.splitlines()[-1])
    assert listed["ip"] == stored[0].client_ip  # the hold names the tag the rows carry

    assert main(["rights", "add", *stores, "--type", "access", "--requester", "홍길동", "--identity-check",
                 "mobile-id", "--consent-id", consent_ids[0], "--ip", VISITOR[0]]) == 0  # fmt: skip
    answer = tmp_path / "answers" / "1.json"
    assert main(["rights", "answer", "1", *stores, "--out", str(answer), "--operator", "lee", "--reason", "r1"]) == 0
    given = orjson.loads(answer.read_bytes())
    assert len(given["consent_history"]) == 1 and len(given["access_records"]) == len(stored)
    assert {(r["client_ip"], r["client_port"]) for r in given["access_records"]} == {VISITOR}

    out = tmp_path / "handover" / "export.jsonl"
    window = ["--from", "2000-01-01", "--to", "2099-12-31", "--scope-from", "2000-01-01", "--scope-to", "2099-12-31"]
    assert main(["export", *stores, *window, *PERMIT, "--scope-ip", "203.0.113.0/24", "--ip", VISITOR[0],
                 "--out", str(out)]) == 0  # fmt: skip
    exported = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(exported) == len(stored) and {r["client_ip"] for r in exported} == {VISITOR[0]}

    capsys.readouterr()
    assert main(["ledger-purge", *stores], clock=at("2030-01-02")) == 0
    assert "1 consent events" in capsys.readouterr().out
    ledger = open_ledger_store(store_url("ledger"))
    assert [e.policy_version for e in ledger.rows()] == ["2027-01-01"] and ledger.anchor() is not None
    ledger.close()
    assert main(["verify", *stores]) == 0
    assert "consent ledger OK" in capsys.readouterr().out  # the chain continues from the destroyed head
    stored_text = everything_stored(store_url("access"), tmp_path)  # 개인정보 보호법 제29조, in every store
    assert len(stored_text) > 1000 and VISITOR[0] not in stored_text and f",{VISITOR[1]}," not in stored_text
    checkpoints = ["--file", str(tmp_path / "offsite" / "checkpoints.jsonl")]
    assert main(["checkpoint", "write", *stores, *checkpoints]) == 0
    assert "event 2" in capsys.readouterr().out  # the head after the anchor, signed apart from the ledger
    assert main(["checkpoint", "verify", *stores, *checkpoints]) == 0

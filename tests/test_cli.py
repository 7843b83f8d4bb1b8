"""The ``cookiegate`` command as cron and an operator use it; the JSON report is a stable contract."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from cookiegate.cli import main
from cookiegate.leaks import LeakCounter
from cookiegate.ledger import ConsentLedger
from cookiegate.retention import SEOUL, to_ms
from cookiegate.stores import ACCESS_COLUMNS
from cookiegate.stores.sqlite import SQLiteAccessStore, SQLiteLedgerStore
from tests.test_ledger import consent

NOW = datetime(2025, 5, 15, 10, tzinfo=SEOUL)


def clock() -> datetime:
    return NOW


def seed(data: Path) -> None:
    store = SQLiteAccessStore(data / "access.db")
    rows = []
    for days, ip, path in [(200, "192.0.2.1", "/ancient"), (10, "192.0.2.1", "/a"), (9, "192.0.2.2", "/b")]:
        values: dict[str, object] = {c: None for c in ACCESS_COLUMNS}
        values.update(ts_ms=to_ms(NOW - timedelta(days=days)), client_ip=ip, path=path, host="h", method="GET",
                      status=200, granted="necessary,analytics", gpc=int(path == "/b"), under14=0, minor=0)
        rows.append(tuple(values[c] for c in ACCESS_COLUMNS))
    store.ingest(rows, segment="seed", offset=1)
    leaks = LeakCounter()
    leaks.count_all("response", ["_mystery"], "/checkout")
    leaks.count_all("request", ["_ga"], "/")
    store.add_blocked_cookies(dict(leaks.drain()), now_ms=to_ms(NOW))
    store.close()
    ledger = ConsentLedger(SQLiteLedgerStore(data / "ledger.db"))
    ledger.record(consent("v1", "analytics"), method="banner", locale="ko", client_ip="192.0.2.1")
    ledger.record(consent("v2"), method="banner", locale="ko", client_ip="192.0.2.2")
    ledger.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), clock=clock)
    out, err = capsys.readouterr()
    return code, out, err


def test_report_json_counts_access_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(tmp_path)
    code, out, _ = run(capsys, "report", "--data-dir", str(tmp_path), "--json")
    report = orjson.loads(out)
    assert code == 0 and report["access_records"] == 3
    assert report["consent_rates"]["analytics"] == 0.5 and report["gpc_share"] == round(1 / 3, 4)
    assert [c["name"] for c in report["blocked_unknown_cookies"]] == ["_mystery"]
    assert report["overdue"] is True and report["ledger_chain_ok"] is True


def test_purge_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(tmp_path)
    code, out, _ = run(capsys, "purge", "--data-dir", str(tmp_path))
    assert code == 0 and orjson.loads(out)["removed"] == 1
    assert run(capsys, "purge", "--data-dir", str(tmp_path), "--retention-months", "2")[0] != 0
    _, out, _ = run(capsys, "report", "--data-dir", str(tmp_path), "--json")
    assert orjson.loads(out)["access_records"] == 2


def test_hold_add_list_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(tmp_path)
    base = ("--data-dir", str(tmp_path))
    code, out, _ = run(capsys, "hold", "add", *base, "--ip", "192.0.2.1", "--from", "2024-10-01",
                       "--to", "2024-11-30", "--reason", "case 1")
    assert code == 0
    hold_id = out.strip()
    run(capsys, "purge", *base)
    _, out, _ = run(capsys, "report", *base, "--json")
    assert orjson.loads(out)["access_records"] == 3, "the ancient record is held"
    _, out, _ = run(capsys, "hold", "list", *base)
    assert orjson.loads(out.splitlines()[0])["reason"] == "case 1"
    assert run(capsys, "hold", "release", *base, hold_id)[0] == 0
    assert run(capsys, "hold", "release", *base, hold_id)[0] == 1


def test_export_is_refused_without_a_permit_and_logged_with_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(tmp_path)
    out_file = tmp_path / "disclosure.jsonl"
    args = ("export", "--data-dir", str(tmp_path), "--from", "2025-05-01", "--to", "2025-05-15", "--out", str(out_file))
    code, _, err = run(capsys, *args, "--agency", "Seoul police")
    assert code != 0 and "permit" in err and not out_file.exists()
    code, _, _ = run(capsys, *args, "--agency", "Seoul police", "--permit", "2025-영장-42", "--ip", "192.0.2.0/24")
    assert code == 0
    assert [orjson.loads(line)["path"] for line in out_file.read_text().splitlines()] == ["/a", "/b"]
    (entry,) = SQLiteAccessStore(tmp_path / "access.db").disclosures()
    assert (entry.permit, entry.records) == ("2025-영장-42", 2)


def test_verify_fails_on_an_edited_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(tmp_path)
    assert run(capsys, "verify", "--data-dir", str(tmp_path))[0] == 0
    with sqlite3.connect(tmp_path / "ledger.db") as raw:
        raw.execute("UPDATE consent_events SET locale = 'en' WHERE seq = 1")
    raw.close()
    code, _, err = run(capsys, "verify", "--data-dir", str(tmp_path))
    assert code == 1 and "BROKEN" in err


def test_migrate_and_doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "migrate", "--data-dir", str(tmp_path))[0] == 0
    assert run(capsys, "doctor", "--data-dir", str(tmp_path))[0] == 0
    seed(tmp_path)
    code, _, err = run(capsys, "doctor", "--data-dir", str(tmp_path))
    assert code == 1 and "cookiegate purge" in err

"""The ``cookiegate`` command as cron and an operator use it; the JSON report is a stable contract."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.cli import main
from cookiegate.clock import SEOUL, to_ms
from cookiegate.stores.sqlite_access import SQLiteAccessStore
from cookiegate.stores.sqlite_aggregates import SQLiteAggregatesStore
from tests.conftest import SECRET, accept, tiny_app
from tests.store_support import access_record, drain
from tests.test_ledger import consent, ledger_at

NOW = datetime(2025, 5, 15, 10, tzinfo=SEOUL)


def clock() -> datetime:
    return NOW


def seed(data: Path) -> None:
    store = SQLiteAccessStore(data / "access.db", create=True)
    records = [
        access_record(to_ms(NOW - timedelta(days=days)), path, ip)
        for days, ip, path in [(200, "192.0.2.1", "/ancient"), (10, "192.0.2.1", "/a"), (9, "192.0.2.2", "/b")]
    ]
    store.ingest(records, segment="seed", offset=1)
    store.close()
    aggregates = SQLiteAggregatesStore(data / "aggregates.db", create=True)
    counts = {("response", "_mystery", "/checkout"): 1, ("request", "_ga", "/"): 1}
    aggregates.add_blocked_cookies(counts, now_ms=to_ms(NOW), segment="seed", offset=1)
    aggregates.close()
    ledger = ledger_at(data)
    ledger.record(consent("v1", "analytics"), method="banner", locale="ko", client_ip="192.0.2.1")
    ledger.record(consent("v2"), method="banner", locale="ko", client_ip="192.0.2.2")
    ledger.close()
    drain(data)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), clock=clock)
    out, err = capsys.readouterr()
    return code, out, err


def test_report_json_counts_access_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """개인정보 보호법 제21조③ (gap 2): consent figures come from the ledger, blocked cookies from the aggregates."""
    seed(tmp_path)
    code, out, _ = run(capsys, "report", "--data-dir", str(tmp_path), "--json")
    report = orjson.loads(out)
    assert code == 0 and report["access_records"] == 3
    assert report["consent_rates"]["analytics"] == 0.5 and "gpc_share" not in report, "no consent data in the log"
    assert [c["name"] for c in report["blocked_unknown_cookies"]] == ["_mystery"]
    assert report["overdue"] is True and report["ledger_chain_ok"] is True


def test_purge_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(tmp_path)
    code, out, _ = run(capsys, "purge", "--data-dir", str(tmp_path))
    assert code == 0 and orjson.loads(out)["removed"] == 1
    with pytest.raises(SystemExit):
        run(capsys, "purge", "--data-dir", str(tmp_path), "--retention-months", "2")
    assert "시행령 제41조" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(capsys, "purge", "--data-dir", str(tmp_path), "--grace-days", "31")
    assert "without delay" in capsys.readouterr().err
    _, out, _ = run(capsys, "report", "--data-dir", str(tmp_path), "--json")
    report = orjson.loads(out)
    assert report["access_records"] == 2 and report["overdue"] is False
    assert report["purge_cutoff"] == "2025-02-08T00:00:00+09:00", "3 months and the 7-day grace before 2025-05-15"


def test_hold_add_list_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(tmp_path)
    base = ("--data-dir", str(tmp_path))
    code, out, _ = run(
        capsys,
        "hold",
        "add",
        *base,
        "--ip",
        "192.0.2.1",
        "--from",
        "2024-10-01",
        "--to",
        "2024-11-30",
        "--reason",
        "case 1",
    )
    assert code == 0 and out.startswith("legal hold 1 added: records of 192.0.2.1 from 2024-10-01")
    hold_id = "1"
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
    out_file = tmp_path.parent / f"{tmp_path.name}-disclosure.jsonl"  # plain text never goes into the data dir
    args = ("export", "--data-dir", str(tmp_path), "--from", "2025-05-01", "--to", "2025-05-15", "--out", str(out_file),
            *PERMIT_SCOPE)  # fmt: skip
    code, _, err = run(capsys, *args, "--agency", "Seoul police")
    assert code != 0 and "permit" in err and not out_file.exists()
    code, _, _ = run(capsys, *args, "--agency", "Seoul police", "--permit", "2025-영장-42", "--ip", "192.0.2.0/24")
    assert code == 0
    assert [orjson.loads(line)["path"] for line in out_file.read_text().splitlines()] == ["/a", "/b"]
    (entry,) = SQLiteAccessStore(tmp_path / "access.db").disclosures()
    assert (entry.permit.split(" ")[0], entry.records) == ("2025-영장-42", 2)
    code, _, err = run(capsys, *args, "--agency", "Seoul police", "--permit", "2025-영장-43", "--ip", "192.0.2.1")
    assert code == 2 and "--force" in err and len(out_file.read_text().splitlines()) == 2


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


PERMIT_SCOPE = (
    "--court",
    "서울중앙지방법원",
    "--permit-date",
    "2025-05-20",
    "--scope-from",
    "2025-01-01",
    "--scope-to",
    "2025-05-31",
    "--scope-ip",
    "192.0.2.0/24",
    "--operator",
    "kim",
    "--reason",
    "permit",
)


@pytest.mark.parametrize("command", [["verify"], ["purge"], ["report"], ["doctor"], ["hold", "list"],
                                     ["export", "--from", "2025-01-01", "--to", "2025-01-02", "--agency", "a",
                                      "--permit", "p", "--out", "x.jsonl", "--ip", "192.0.2.1",
                                      *PERMIT_SCOPE]])  # fmt: skip
def test_a_store_command_on_a_mistyped_data_dir_fails_naming_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    typo = tmp_path / "cookiegate-dta"
    code, _, err = run(capsys, *command, "--data-dir", str(typo))
    assert code == 2 and str(typo / "access.db") in err
    assert not typo.exists(), "nothing is created at the typo"


def test_usage_names_the_option_from_not_from_(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "--from FROM" in capsys.readouterr().out


def test_doctor_piped_into_head_leaves_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    seed(tmp_path)
    shell = f"{sys.executable} -m cookiegate doctor --data-dir {tmp_path} | head -1"
    result = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.count("\n") == 1 and "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_doctor_reports_a_failing_ingester_and_records_the_writers_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cookiegate.records.channels import ChannelCounters
    from cookiegate.records.status import IngestStatus

    seed(tmp_path)
    drain(tmp_path)

    class Channel:
        name = "access"
        counters = ChannelCounters(stored=10, dropped_by_writers=3)

    IngestStatus(tmp_path / "ingest-status.json", pid=1).failing(
        sqlite3.OperationalError("database is locked"),
        [Channel()],  # type: ignore[list-item]
        retry_in=4.0,
    )
    code, out, err = run(capsys, "doctor", "--data-dir", str(tmp_path))
    assert code == 1 and "ingester: failing" in out and "database is locked" in err
    assert "3 access records were dropped" in err


def test_article21_3_the_statutory_store_keeps_only_the_log_and_report_reads_the_other_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """개인정보 보호법 제21조③ (gap 2): legally kept data is stored apart and used for nothing else; consent,
    the under-14 flag and blocked cookies live in the ledger and the aggregates store, never in access.db."""
    data = tmp_path / "data"
    with TestClient(CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data), base_url="http://shop.test") as c:
        consent_id = accept(c, ["analytics"], under14=True)["consent_id"]
        c.get("/echo", params={"set": "_mystery_tracker"}, headers={"sec-gpc": "1"})
    files = {name: b"".join(p.read_bytes() for p in data.glob(f"{name}*")) for name in ("access.db", "ledger.db",
                                                                                         "aggregates.db")}  # fmt: skip
    assert b"/echo" in files["access.db"]
    for personal in (consent_id.encode(), b"analytics", b"under14", b"_mystery_tracker", b"gpc"):
        assert personal not in files["access.db"], personal
    assert consent_id.encode() in files["ledger.db"] and b"_mystery_tracker" in files["aggregates.db"]
    code, out, _ = run(capsys, "report", "--data-dir", str(data), "--json")
    report = orjson.loads(out)
    assert code == 0 and report["consent_under14_share"] == 1.0 and report["consent_rates"]["analytics"] == 0.0
    assert [c["name"] for c in report["blocked_unknown_cookies"]] == ["_mystery_tracker"]

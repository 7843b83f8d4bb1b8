"""Data-subject rights over the statutory log and the ledger: 개인정보 보호법 제35조 (열람), 제36조 (삭제 refused
inside the window of 통신비밀보호법 시행령 제41조), 10-day deadlines (개인정보 보호법 시행령 제41조④, 제43조③)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

from cookiegate.cli import main
from cookiegate.records.rights import destruction_date
from cookiegate.records.staff_log import staff_reads
from tests.conftest import accept
from tests.store_support import sealed_site

VISITOR = ("203.0.113.77", 40000)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    with sealed_site(tmp_path, monkeypatch, VISITOR) as client:
        consent_id = accept(client, ["analytics"])["consent_id"]
        client.get("/echo")
    return tmp_path / "data", consent_id


def clock_on(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T03:00:00+00:00").astimezone(UTC)


def add(data: Path, kind: str, consent_id: str, received: str) -> int:
    return main(["rights", "add", "--data-dir", str(data), "--type", kind, "--requester", "홍길동 010-0000-0000",
                 "--identity-check", "mobile-id", "--received", received, "--consent-id", consent_id,
                 "--ip", VISITOR[0]])  # fmt: skip


def test_article35_access_request_answered_from_log_and_ledger(
    data_dir: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, consent_id = data_dir
    assert add(data, "access", consent_id, "2026-11-20") == 0
    assert "answer by 2026-11-30" in capsys.readouterr().out
    out = tmp_path / "answers" / "1.json"
    answer = ["rights", "answer", "1", "--data-dir", str(data), "--out", str(out)]
    assert main(answer) == 2  # nobody named: refused
    assert "--operator" in capsys.readouterr().err
    assert main([*answer, "--operator", "lee", "--reason", "request 1"]) == 0
    given = orjson.loads(out.read_bytes())
    assert [e["method"] for e in given["consent_history"]] == ["api"]
    assert {r["client_ip"] for r in given["access_records"]} == {VISITOR[0]}
    assert len(given["access_records"]) == 2
    assert staff_reads(data)[-1]["operator"] == "lee"
    assert VISITOR[0].encode() not in b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())


def test_article36_deletion_inside_the_window_is_refused_citing_decree41_with_the_destruction_date(
    data_dir: tuple[Path, str], tmp_path: Path
) -> None:
    data, consent_id = data_dir
    assert add(data, "deletion", consent_id, "2026-11-20") == 0
    out = tmp_path / "answers" / "deletion.json"
    assert main(["rights", "answer", "1", "--data-dir", str(data), "--out", str(out), "--operator", "lee",
                 "--reason", "request 1"]) == 0  # fmt: skip
    given = orjson.loads(out.read_bytes())
    assert "시행령 제41조②2호" in given["refused"] and "제36조①단서" in given["refused"]
    today = datetime.now(UTC).date()
    assert given["access_records_destroyed_by"] in {
        destruction_date(today, 3).isoformat(),
        destruction_date(date.fromordinal(today.toordinal() + 1), 3).isoformat(),
    }


def test_decree41_ten_day_deadlines_are_listed_and_overdue_flagged(
    data_dir: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    data, consent_id = data_dir
    add(data, "suspension", consent_id, "2026-11-01")
    add(data, "access", consent_id, "2026-11-20")
    capsys.readouterr()
    assert main(["rights", "list", "--data-dir", str(data)], clock=lambda: clock_on("2026-11-23")) == 0
    late, fresh = (orjson.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (late["deadline"], late["overdue"], late["days_left"]) == ("2026-11-11", True, -12)
    assert (fresh["deadline"], fresh["overdue"], fresh["days_left"]) == ("2026-11-30", False, 7)
    assert "시행령 제44조②" in late["basis"]


def test_destruction_date_is_retention_plus_grace() -> None:
    assert destruction_date(date(2026, 11, 30), 3, 7) == date(2027, 3, 8)  # 2027-02-28 + 7 days + 1
    assert destruction_date(date(2026, 1, 15), 3, 0) == date(2026, 4, 16)

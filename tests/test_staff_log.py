"""The staff read log: every staff access to the statutory data, with who and why (안전성 확보조치 기준 제8조)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import pytest

from cookiegate.cli import main
from cookiegate.records.staff_log import record_staff_read, staff_log_path, staff_reads
from tests.conftest import accept
from tests.store_support import sealed_site

VISITOR = ("203.0.113.77", 51234)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with sealed_site(tmp_path, monkeypatch, VISITOR) as client:
        accept(client, ["analytics"])
        client.get("/echo")
    return tmp_path / "data"


def test_standard8_export_rights_and_holds_are_each_recorded_with_operator_and_reason(
    data_dir: Path, tmp_path: Path
) -> None:
    """Gap 3: staff reads of the access log are recorded; the app's own writes are not reads and leave none."""
    assert staff_reads(data_dir) == []
    base = ["--data-dir", str(data_dir)]
    window = ["--from", "2000-01-01", "--to", "2099-12-31"]
    assert main(["export", *base, *window, "--scope-from", "2000-01-01", "--scope-to", "2099-12-31",
                 "--scope-ip", VISITOR[0], "--ip", VISITOR[0], "--agency", "Seoul police", "--permit", "2026-S-1",
                 "--court", "서울중앙지방법원", "--permit-date", "2026-11-20", "--operator", "kim",
                 "--reason", "permit 2026-S-1", "--out", str(tmp_path / "out" / "x.jsonl")]) == 0  # fmt: skip
    assert main(["rights", "add", *base, "--type", "access", "--requester", "홍길동", "--identity-check",
                 "mobile-id", "--ip", VISITOR[0]]) == 0  # fmt: skip
    assert main(["rights", "answer", "1", *base, "--out", str(tmp_path / "out" / "1.json"), "--operator", "lee",
                 "--reason", "request 1"]) == 0  # fmt: skip
    assert main(["hold", "add", *base, *window, "--ip", VISITOR[0], "--reason", "case 7", "--operator", "park"]) == 0
    assert main(["hold", "list", *base]) == 0
    assert main(["hold", "release", "1", *base, "--operator", "park", "--reason", "case 7 closed"]) == 0
    reads = staff_reads(data_dir)
    assert [(r["command"], r["operator"], r["reason"]) for r in reads] == [
        ("export", "kim", "permit 2026-S-1"),
        ("rights answer", "lee", "request 1"),
        ("hold add", "park", "case 7"),
        ("hold list", getpass.getuser(), "review of legal holds"),
        ("hold release", "park", "case 7 closed"),
    ]
    assert all(r["at"] for r in reads) and reads[0]["permit"].startswith("2026-S-1 (서울중앙지방법원, 2026-11-20)")
    log = staff_log_path(data_dir)
    assert VISITOR[0].encode() not in log.read_bytes(), "addresses in the staff log are sealed too (제29조)"
    assert os.stat(log).st_mode & 0o777 == 0o600


def test_standard8_a_read_nobody_owns_is_refused_before_anything_is_read(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "x.jsonl"
    assert main(["rights", "add", "--data-dir", str(data_dir), "--type", "access", "--requester", "a",
                 "--identity-check", "mobile-id", "--ip", VISITOR[0]]) == 0  # fmt: skip
    assert main(["rights", "answer", "1", "--data-dir", str(data_dir), "--out", str(out), "--reason", "x"]) == 2
    assert "--operator" in capsys.readouterr().err and not out.exists() and staff_reads(data_dir) == []
    with pytest.raises(ValueError, match="every read of the log is recorded"):
        record_staff_read(data_dir, operator="kim", reason=" ", command="export", detail={})

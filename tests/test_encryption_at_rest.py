"""No client address in the clear in any file under the data dir (개인정보 보호법 제29조, 안전성 확보조치 기준
제7조), and a lawful export that opens only what the permit covers (통신비밀보호법 제13조)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.cli import main
from cookiegate.keyfile import KEY_FILE_ENV, generate
from cookiegate.records.staff_log import staff_reads
from tests.conftest import SECRET, tiny_app

CLIENT = ("203.0.113.77", 51234)
FORWARDED = "198.51.100.23"
PERMIT = ["--agency", "Seoul police", "--permit", "2026-S-1234", "--court", "서울중앙지방법원",
          "--permit-date", "2026-11-20", "--operator", "kim", "--reason", "permit 2026-S-1234"]  # fmt: skip


@pytest.fixture
def sealed_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir the gate filled with a few requests, with keys configured outside it."""
    keys = tmp_path / "etc" / "keys.json"
    generate(keys)
    monkeypatch.setenv(KEY_FILE_ENV, str(keys))
    data_dir = tmp_path / "data"
    gate = CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data_dir)
    with TestClient(gate, base_url="http://shop.test", client=CLIENT) as client:
        for _ in range(3):
            assert client.get("/echo", headers={"x-forwarded-for": FORWARDED}).status_code == 200
        client.post("/_cookiegate/consent", json={"granted": ["analytics"], "under14": False})
    assert main(["ingest", "--data-dir", str(data_dir), "--once", "--create"]) == 0
    return data_dir


def export_args(data_dir: Path, *extra: str) -> list[str]:
    window = ["--from", "2000-01-01", "--to", "2099-12-31", "--scope-from", "2000-01-01", "--scope-to", "2099-12-31"]
    return ["export", "--data-dir", str(data_dir), *window, *PERMIT, *extra]


def _everything_under(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def test_article29_no_client_address_in_plain_text_in_any_file_under_the_data_dir(sealed_data_dir: Path) -> None:
    content = _everything_under(sealed_data_dir)
    assert len(content) > 10_000  # the stores really are there
    for secret in (CLIENT[0].encode(), FORWARDED.encode(), str(CLIENT[1]).encode()):
        assert secret not in content, secret


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

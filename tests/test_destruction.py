"""Irreversible destruction (개인정보 보호법 제21조, 시행령 제16조) and the retention grace (시행령 제41조 minimum)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.cli import main
from cookiegate.destruction import destruction_cutoff, shred, validate_grace_days
from cookiegate.records.channels import spool_root
from cookiegate.records.disclosure import export_disclosure
from cookiegate.services import open_services
from cookiegate.stores.sqlite_access import SQLiteAccessStore
from tests.conftest import SECRET, accept, tiny_app
from tests.store_support import access_record

NOW_MS = 1_795_000_000_000


def test_article21_shred_leaves_no_bytes_behind_the_unlinked_name(tmp_path: Path) -> None:
    path = tmp_path / "segment.spool"
    secret = b"203.0.113.77 GET /account\n" * 100_000
    path.write_bytes(secret)
    # A second name on the same inode shows what unlinking alone would have left on disk.
    witness = tmp_path / "witness"
    os.link(path, witness)
    assert shred(path) == len(secret)
    assert not path.exists()
    assert witness.read_bytes() == b""
    assert shred(path) == 0


def test_article21_shred_overwrites_with_zeros_before_truncating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"198.51.100.9" * 1000)
    seen: list[bytes] = []
    real_ftruncate = os.ftruncate

    def spy(fd: int, length: int) -> None:
        with open(path, "rb") as handle:
            seen.append(handle.read())
        real_ftruncate(fd, length)

    monkeypatch.setattr(os, "ftruncate", spy)
    shred(path)
    assert seen == [bytes(12_000)]


def test_decree41_grace_only_lengthens_retention() -> None:
    cutoff = datetime(2026, 8, 23, tzinfo=UTC)
    assert destruction_cutoff(cutoff) == cutoff - timedelta(days=7)
    assert destruction_cutoff(cutoff, 0) == cutoff
    with pytest.raises(ValueError, match="3-month minimum"):
        validate_grace_days(-1)
    with pytest.raises(ValueError, match="without delay"):
        validate_grace_days(31)


def _witnesses(files: list[Path], folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """A second name for each file's inode (what a plain unlink would leave readable on the disk); returns the
    list that receives the witnesses' bytes each time a file is truncated (zeros if it was overwritten first)."""
    folder.mkdir()
    for n, path in enumerate(files):
        os.link(path, folder / f"{n}-{path.name}")
    at_truncate: list[bytes] = []
    real_ftruncate = os.ftruncate

    def spy(fd: int, length: int) -> None:
        at_truncate.extend(p.read_bytes() for p in sorted(folder.iterdir()) if os.fstat(fd).st_ino == p.stat().st_ino)
        real_ftruncate(fd, length)

    monkeypatch.setattr(os, "ftruncate", spy)
    return at_truncate


def test_decree16_spool_segments_the_ingester_consumed_are_overwritten_not_just_unlinked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """개인정보 보호법 시행령 제16조 (gap 10): a stored spool segment is destroyed so it cannot be restored."""
    data = tmp_path / "data"
    services = open_services(data_dir=data, access_log_url=None, ledger_url=None, access_log=True,
                             retention_months=3, trusted_proxies=(), ingest=False)  # fmt: skip
    gate = CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data, services=services)
    with TestClient(gate, base_url="http://shop.test", client=("203.0.113.77", 51234)) as client:
        client.get("/echo")
        accept(client, ["analytics"])
    segments = sorted(spool_root(data).rglob("*.spool"))
    sizes = [p.stat().st_size for p in segments]
    assert len(segments) >= 2 and all(sizes), "access and ledger records wait in the spool"
    at_truncate = _witnesses(segments, tmp_path / "witness", monkeypatch)
    assert main(["ingest", "--data-dir", str(data), "--once", "--create"]) == 0
    assert not any(p.exists() for p in segments)
    assert sorted(at_truncate) == sorted(bytes(n) for n in sizes), "every segment held only zeros when cut"
    assert [p.stat().st_size for p in (tmp_path / "witness").iterdir()] == [0] * len(segments)


def test_decree16_an_export_replaced_with_force_is_overwritten_not_just_truncated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """개인정보 보호법 시행령 제16조 (gap 10): a disclosure file written again leaves no old bytes behind."""
    store = SQLiteAccessStore(tmp_path / "access.db", create=True)
    store.ingest([access_record(NOW_MS, "/a", "198.51.100.9")], segment="s", offset=1)
    out = tmp_path / "out" / "export.jsonl"
    for ip, overwrite in (("198.51.100.9", False), ("192.0.2.1", True)):
        if overwrite:
            old = out.read_bytes()
            assert b"198.51.100.9" in old
            at_truncate = _witnesses([out], tmp_path / "witness", monkeypatch)
        export_disclosure(store, from_ms=NOW_MS - 1, to_ms_=NOW_MS + 1, ip=ip, agency="police", permit="2026-1",
                          out=out, overwrite=overwrite)  # fmt: skip
    store.close()
    assert at_truncate == [bytes(len(old))], "the old export held only zeros when cut"
    assert (tmp_path / "witness" / "0-export.jsonl").read_bytes() == b"" and out.read_bytes() == b""

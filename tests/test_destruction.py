"""Irreversible destruction (개인정보 보호법 제21조, 시행령 제16조) and the retention grace (시행령 제41조 minimum)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cookiegate.destruction import destruction_cutoff, shred, validate_grace_days


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

"""Signed ledger checkpoints: cutting consent records off the ledger's end is detected (개인정보 보호법 제22조:
the site must be able to prove consent; 안전성 확보조치 기준 제7조: the signing key is kept apart)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cookiegate.crypto import KeyRingError
from cookiegate.keyfile import generate, load_keyring
from cookiegate.records.checkpoint import CheckpointLog

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def chain(n: int) -> list[tuple[int, str]]:
    events, prev = [], ""
    for seq in range(1, n + 1):
        prev = hashlib.sha256(f"{prev}\n{seq}".encode()).hexdigest()
        events.append((seq, prev))
    return events


@pytest.fixture
def log(tmp_path: Path) -> CheckpointLog:
    keys = tmp_path / "etc" / "keys.json"
    generate(keys)
    return CheckpointLog(tmp_path / "checkpoints" / "ledger.jsonl", load_keyring(key_file=keys))


def test_article22_daily_checkpoint_detects_events_cut_off_the_end(log: CheckpointLog) -> None:
    events = chain(10)
    log.write(*events[-1], now=NOW)
    assert log.verify(events, now=NOW).ok
    check = log.verify(events[:7], now=NOW)
    assert not check.ok
    assert "ends at event 7" in check.problems[0] and "3 event(s) were cut off" in check.problems[0]


def test_article22_checkpoint_detects_a_rebuilt_chain(log: CheckpointLog) -> None:
    log.write(5, chain(5)[-1][1], now=NOW)
    forged = [(seq, "f" * 64) for seq, _ in chain(8)]
    assert "event 5 differs" in log.verify(forged, now=NOW).problems[0]


def test_standard7_a_forged_or_edited_checkpoint_line_is_reported(log: CheckpointLog, tmp_path: Path) -> None:
    events = chain(3)
    log.write(*events[-1], now=NOW)
    text = log.path.read_text().replace('"seq":3', '"seq":2')
    log.path.write_text(text + "not json\n")
    check = log.verify(events, now=NOW)
    assert len(check.problems) == 2 and all("not validly signed" in p for p in check.problems)
    other = tmp_path / "other.json"
    generate(other)
    stranger = CheckpointLog(log.path, load_keyring(key_file=other))
    stranger.path.write_text("")
    CheckpointLog(log.path, load_keyring(key_file=other)).write(3, events[-1][1], now=NOW)
    assert "not validly signed" in log.verify(events, now=NOW).problems[0]


def test_checkpoints_survive_key_rotation_and_warn_when_stale(log: CheckpointLog, tmp_path: Path) -> None:
    events = chain(4)
    log.write(*events[1], now=NOW - timedelta(days=5))
    keys = tmp_path / "etc" / "keys.json"
    generate(keys, rotate=("signing",))
    rotated = CheckpointLog(log.path, load_keyring(key_file=keys))
    assert rotated.verify(events, now=NOW).ok
    assert "is the daily checkpoint running" in rotated.verify(events, now=NOW).warnings[0]
    rotated.write(*events[-1], now=NOW)
    check = rotated.verify(events, now=NOW)
    assert check.ok and check.checked == 2 and not check.warnings


def test_purged_prefix_still_verifies_against_later_checkpoints(log: CheckpointLog) -> None:
    events = chain(10)
    log.write(*events[3], now=NOW - timedelta(days=1))
    log.write(*events[-1], now=NOW)
    assert log.verify(events[5:], now=NOW).ok  # events 1-5 purged by retention: nothing after them lost


def test_checkpoints_inside_the_data_dir_or_without_a_key_are_refused(tmp_path: Path) -> None:
    keys = tmp_path / "etc" / "keys.json"
    generate(keys)
    ring = load_keyring(key_file=keys)
    with pytest.raises(ValueError, match="inside the data dir"):
        CheckpointLog(tmp_path / "data" / "cp.jsonl", ring, data_dir=tmp_path / "data")
    with pytest.raises(KeyRingError, match="signing"):
        CheckpointLog(tmp_path / "cp.jsonl", type(ring)(ring.encryption, ring.lookup, ()))
    assert "no checkpoints yet" in CheckpointLog(tmp_path / "none.jsonl", ring).verify(chain(2)).warnings[0]


def test_article22_cli_checkpoint_catches_consent_events_deleted_from_the_end_of_a_real_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    from starlette.testclient import TestClient

    from cookiegate import CookieGate
    from cookiegate.cli import main
    from cookiegate.keyfile import KEY_FILE_ENV
    from tests.conftest import SECRET, accept, tiny_app

    keys = tmp_path / "etc" / "keys.json"
    generate(keys)
    monkeypatch.setenv(KEY_FILE_ENV, str(keys))
    data_dir = tmp_path / "data"
    with TestClient(CookieGate(tiny_app(), secret_keys=[SECRET], data_dir=data_dir), base_url="http://shop.test") as c:
        for granted in (["analytics"], [], ["functional"], ["analytics", "functional"]):
            accept(c, granted)
    common = ["--data-dir", str(data_dir), "--file", str(tmp_path / "offsite" / "ledger-checkpoints.jsonl")]
    assert main(["ingest", "--data-dir", str(data_dir), "--once", "--create"]) == 0
    assert main(["checkpoint", "write", *common]) == 0
    assert "event 4" in capsys.readouterr().out
    assert main(["checkpoint", "verify", *common]) == 0
    with sqlite3.connect(data_dir / "ledger.db") as conn:
        conn.execute("DELETE FROM consent_events WHERE seq > 2")
    assert main(["verify", "--data-dir", str(data_dir)]) == 0  # the bare chain cannot see it...
    assert main(["checkpoint", "verify", *common]) == 1  # ...the checkpoint can
    assert "2 event(s) were cut off the end" in capsys.readouterr().err
    inside = ["checkpoint", "write", "--data-dir", str(data_dir), "--file", str(data_dir / "cp.jsonl")]
    assert main(inside) == 2


def test_article22_ingester_daily_checkpoint_goes_to_the_configured_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cookiegate.records.checkpoint import CHECKPOINT_FILE_ENV, daily_checkpoint

    keys = tmp_path / "etc" / "keys.json"
    generate(keys)
    ring = load_keyring(key_file=keys)
    assert daily_checkpoint(chain(3), ring, tmp_path / "data") is None  # not configured: nothing written
    target = tmp_path / "offsite" / "cp.jsonl"
    monkeypatch.setenv(CHECKPOINT_FILE_ENV, str(target))
    written = daily_checkpoint(iter(chain(3)), ring, tmp_path / "data")
    assert written is not None and written.seq == 3
    assert CheckpointLog(target, ring).verify(chain(3)).ok
    assert daily_checkpoint(iter(()), ring, tmp_path / "data") is None

"""The spool: framed appends that a torn write cannot corrupt, exact drop counts, and a real full disk."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cookiegate.consent import no_consent
from cookiegate.records import spool
from cookiegate.records.accesslog import AccessLog
from cookiegate.records.channels import spool_root
from cookiegate.records.ingest import Ingester
from tests.store_support import config, stored_paths


def scope(path: str) -> dict[str, object]:
    return {"type": "http", "method": "GET", "path": path, "headers": [(b"host", b"shop.test")],
            "client": ("203.0.113.9", 40000), "http_version": "1.1"}  # fmt: skip


def log(sink: AccessLog, path: str) -> None:
    sink.log(scope(path), 200, 12, time.perf_counter_ns(), no_consent("v1"), b"", None, None, "ok")


def test_frames_survive_garbage_between_them_and_a_torn_tail() -> None:
    good = [spool.frame(f"record-{i}".encode()) for i in range(3)]
    data = good[0] + b"\x00garbage\xc6\x1a\xff" + good[1] + good[2] + good[0][:7]
    payloads, consumed, corrupt = spool.parse_frames(data, sealed=False)
    assert payloads == [b"record-0", b"record-1", b"record-2"] and corrupt == 1
    assert consumed == len(data) - 7, "an incomplete frame of a live segment waits for its writer"
    payloads, consumed, corrupt = spool.parse_frames(data[consumed:], sealed=True)
    assert (payloads, consumed, corrupt) == ([], 7, 1), "in a sealed segment it is a torn tail, skipped"


def test_a_flipped_byte_loses_only_its_own_record() -> None:
    frames = [spool.frame(f"r{i}".encode()) for i in range(5)]
    damaged = bytearray(b"".join(frames))
    damaged[len(frames[0]) + len(frames[1]) + spool.HEADER.size] ^= 0xFF  # inside record 2's payload
    payloads, _, corrupt = spool.parse_frames(bytes(damaged), sealed=True)
    assert payloads == [b"r0", b"r1", b"r3", b"r4"] and corrupt == 1


def test_a_spool_over_its_bound_drops_and_counts_instead_of_failing(tmp_path: Path) -> None:
    sink = AccessLog(tmp_path / "spool", max_spool_bytes=0)
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "old.spool").write_bytes(b"x")
    for i in range(5):
        log(sink, f"/p{i}")
    assert sink.dropped == 5 and sink.spool.appended == 0


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB tmpfs (root only: ``mount`` needs it)."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the disk-full test needs root to mount a tmpfs, and CI must run it")
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "data" / "spool"
    mount.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_drops_exactly_and_the_first_record_after_recovery_is_stored(
    tmp_path: Path, tiny_disk: Path
) -> None:
    data = tmp_path / "data"
    filler = tiny_disk / "filler"
    filler.write_bytes(b"\0" * 200 * 1024)
    sink = AccessLog(spool_root(data) / "access")
    for i in range(1000):
        log(sink, f"/before-{i:04d}")
    assert sink.dropped > 0 and sink.spool.appended > 0 and sink.spool.appended + sink.dropped == 1000
    filler.unlink()
    time.sleep(spool.RETRY_AFTER_NS / 1e9 + 0.1)
    log(sink, "/first-after-recovery")
    log(sink, "/second-after-recovery")
    sink.close()

    ingester = Ingester(config(data))
    ingester.drain()
    counters = {c.name: c.counters for c in ingester._channels}["access"]
    ingester.close()
    paths = stored_paths(data)
    assert paths[-2:] == ["/first-after-recovery", "/second-after-recovery"]
    assert len(paths) == len(set(paths)) == sink.spool.appended
    assert paths[:-2] == [f"/before-{i:04d}" for i in range(len(paths) - 2)], "everything before the tear kept"
    assert counters.dropped_by_writers == sink.dropped, "the exact drop count reaches the ingester"
    assert list(tiny_disk.glob("access/*.spool")) == [], "sealed segments are deleted once stored"


def test_the_spool_folders_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log(AccessLog(spool_root(data) / "access"), "/p")
    for folder in (data, spool_root(data), spool_root(data) / "access"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder

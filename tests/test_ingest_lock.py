"""One ingester per data dir: the lock admits one holder, and frees itself when that holder's fd closes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cookiegate.records.ingest_lock import LOCK_FILE, lock_is_free, take_lock


def test_a_second_ingester_is_refused_while_the_first_holds_the_lock_and_admitted_after(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = take_lock(data)
    assert first is not None
    try:
        assert take_lock(data) is None
        assert not lock_is_free(data)
        assert (data / LOCK_FILE).stat().st_mode & 0o777 == 0o600
    finally:
        os.close(first)
    assert lock_is_free(data)
    second = take_lock(data)
    assert second is not None
    os.close(second)


def test_an_ingester_that_dies_frees_the_lock_with_its_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    script = (
        "import sys, time; from pathlib import Path; from cookiegate.records.ingest_lock import take_lock; "
        "assert take_lock(Path(sys.argv[1])) is not None; print('held', flush=True); time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", script, str(data)], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            assert not lock_is_free(data)
        finally:
            holder.kill()
    assert lock_is_free(data)

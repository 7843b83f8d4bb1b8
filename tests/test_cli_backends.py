"""Every store command works the same against SQLite and PostgreSQL store URLs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cookiegate.cli import main
from cookiegate.records.types import AccessRecord
from cookiegate.stores import open_access_store


def test_store_commands_run_on_either_backend(
    store_url: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores = ["--data-dir", str(tmp_path / "data"), "--access-log-url", store_url("access"),
              "--ledger-url", store_url("ledger"), "--aggregates-url", f"sqlite:///{tmp_path / 'agg.db'}"]  # fmt: skip
    assert main(["verify", *stores]) == 2, "a store that does not exist is refused"
    assert "migrate" in capsys.readouterr().err
    (tmp_path / "data").mkdir()
    assert main(["migrate", *stores]) == 0
    store = open_access_store(store_url("access"))
    seen = time.time_ns() // 1_000_000 - 10 * 86_400_000
    start, end = (time.strftime("%Y-%m-%d", time.gmtime(seen / 1000 + days * 86_400)) for days in (-5, 5))
    store.ingest([AccessRecord(seen, "203.0.113.9", 4000, "10.0.0.2", None, "shop.test", "GET", "/p", 200,
                               "HTTP/1.1", 10, 20, "ok")], segment="cli", offset=1)  # fmt: skip
    store.close()
    capsys.readouterr()
    assert main(["hold", "add", *stores, "--ip", "203.0.113.0/24", "--from", start, "--to", end,
                 "--reason", "case 7"]) == 0  # fmt: skip
    assert main(["hold", "list", *stores]) == 0 and "203.0.113.0/24" in capsys.readouterr().out
    for command in (["verify"], ["report"], ["doctor"], ["purge"]):
        assert main([*command, *stores]) == 0, command
    out = tmp_path / "disclosure.csv"
    assert main(["export", *stores, "--from", start, "--to", end, "--agency", "police",
                 "--permit", "2025-77", "--ip", "203.0.113.9", "--out", str(out)]) == 0  # fmt: skip
    assert ",/p," in out.read_text()
    store = open_access_store(store_url("access"))
    assert [(d.agency, d.permit, d.records) for d in store.disclosures()] == [("police", "2025-77", 1)]
    store.close()

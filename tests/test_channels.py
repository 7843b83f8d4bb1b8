"""Opening the ingester's channels: every store or none, and the access channel only with an access log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cookiegate.proxies import TrustedProxies
from cookiegate.records import channels
from cookiegate.stores import LedgerStore, open_ledger_store


def urls(tmp_path: Path) -> tuple[str, str, str]:
    return f"sqlite:///{tmp_path}/ledger.db", f"sqlite:///{tmp_path}/access.db", f"sqlite:///{tmp_path}/agg.db"


@pytest.mark.parametrize("access_log", [True, False])
def test_one_channel_per_store_each_with_its_own_spool_folder(tmp_path: Path, access_log: bool) -> None:
    ledger, access, aggregates = urls(tmp_path)

    opened = channels.open_channels(
        tmp_path, ledger, access if access_log else None, aggregates, TrustedProxies(()), create=True
    )
    try:
        folders = [channel.directory for channel in opened]
    finally:
        for channel in opened:
            channel.store.close()

    spool = tmp_path / "spool"
    expected = [spool / "ledger", spool / "access", spool / "aggregates"]
    assert folders == (expected if access_log else [spool / "ledger", spool / "aggregates"])


def test_a_store_that_fails_to_open_closes_the_ones_opened_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, access, _ = urls(tmp_path)
    opened: list[LedgerStore] = []

    def remembered(url: str, *, create: bool = False) -> LedgerStore:
        opened.append(open_ledger_store(url, create=create))
        return opened[-1]

    monkeypatch.setattr("cookiegate.records.channels.open_ledger_store", remembered)

    with pytest.raises(ValueError, match="nosuch"):
        channels.open_channels(tmp_path, ledger, access, "nosuch://aggregates", TrustedProxies(()), create=True)

    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].spool_offset("segment")

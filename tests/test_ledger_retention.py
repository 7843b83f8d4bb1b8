"""Consent events destroyed 3 years after their policy version is superseded (개인정보 보호법 제21조), the chain
still verifying from the hash it continues from."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cookiegate.cli import main
from cookiegate.policy import Policy
from tests.conftest import accept

Client = Callable[..., TestClient]


def at(day: str) -> Callable[[], datetime]:
    return lambda: datetime.fromisoformat(f"{day}T00:00:00+00:00").astimezone(UTC)


def test_article21_events_of_a_version_superseded_over_three_years_ago_are_destroyed(
    gate_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = gate_client()
    for granted in (["analytics"], []):
        accept(old, granted)
    site = tmp_path / "v2.toml"
    site.write_text('version = "2027-01-01"\neffective_date = 2027-01-01\n')
    new = gate_client(policy=Policy.load(site))
    accept(new, ["functional"])
    new.get("/_cookiegate/policy/versions")  # archives the new version
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["ingest", *data, "--once", "--create"]) == 0
    assert main(["ledger-purge", *data], clock=at("2029-12-31")) == 0
    assert "0 consent events" in capsys.readouterr().out  # not yet 3 years after 2027-01-01
    assert main(["ledger-purge", *data], clock=at("2030-01-02")) == 0
    assert "2 consent events" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "data" / "ledger.db") as conn:
        assert [r[0] for r in conn.execute("SELECT policy_version FROM consent_events")] == ["2027-01-01"]
    conn.close()
    assert main(["verify", *data]) == 0
    assert "consent ledger OK" in capsys.readouterr().out  # the chain continues from the destroyed head

"""``cookiegate migrate --roles``: prints the PostgreSQL grants, or migrates and applies them, so the gate's
ingest role may append to the statutory log but not read it (안전성 확보조치 기준 제5조, #10 gap 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from cookiegate.cli import main


def test_roles_need_a_postgresql_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--roles", "--data-dir", str(tmp_path)]) == 2
    assert "postgresql://" in capsys.readouterr().err


def test_migrate_roles_prints_then_applies_the_grants(
    pg_cluster: Any, postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores = ["--data-dir", str(tmp_path), "--access-log-url", postgres_url, "--ledger-url", postgres_url]
    assert main(["migrate", "--roles", *stores]) == 0
    printed = capsys.readouterr().out
    assert "GRANT INSERT ON cookiegate_access.access_log TO cookiegate_ingest;" in printed
    assert "GRANT SELECT, INSERT ON cookiegate_ledger.consent_events TO cookiegate_ingest;" in printed
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('cookiegate_access.access_log')").fetchone() == (None,)

    assert main(["migrate", "--roles", "--apply", *stores]) == 0
    assert "applied" in capsys.readouterr().out
    ingest_url = pg_cluster.url(postgres_url.rsplit("/", 1)[1], user="cookiegate_ingest")
    with psycopg.connect(ingest_url, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM cookiegate_ledger.consent_events")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM cookiegate_access.access_log")

"""The policy archive: each version's full text and SHA-256 (개인정보 보호법 제22조: proof of what was agreed),
공고일 before 시행일, and ledger retention after a version is superseded (제21조)."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cookiegate.policy import Policy
from cookiegate.policy_archive import PolicyArchive, policy_sha256
from tests.conftest import accept


def policy(tmp_path: Path, version: str, effective: str, announced: str | None = None, extra: str = "") -> Policy:
    site = tmp_path / f"{version}.toml"
    site.write_text(
        f'version = "{version}"\neffective_date = {effective}\n'
        + (f"announced_date = {announced}\n" if announced else "")
        + extra
    )
    return Policy.load(site)


def test_article22_archive_keeps_full_text_read_only_with_its_sha256(tmp_path: Path) -> None:
    archive = PolicyArchive(tmp_path / "archive")
    v1 = policy(tmp_path, "v1", "2026-01-01")
    archived = archive.archive(v1)
    assert archived.sha256 == policy_sha256(v1)
    assert archived.document["texts"]["ko"]["categories"][3]["name"] == "맞춤형 광고 쿠키"
    path = tmp_path / "archive" / "v1.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert archive.archive(v1).sha256 == archived.sha256  # idempotent


def test_article22_changed_text_under_the_same_version_is_refused(tmp_path: Path) -> None:
    archive = PolicyArchive(tmp_path / "archive")
    archive.archive(policy(tmp_path, "v1", "2026-01-01"))
    changed = policy(tmp_path, "v1", "2026-01-01", extra='[cookies]\nanalytics = ["my_stats"]\n')
    archived = archive.get("v1")
    assert archived is not None and policy_sha256(changed) != archived.sha256
    with pytest.raises(ValueError, match="needs a new version"):
        archive.archive(changed)


def test_article30_announced_version_waits_for_its_effective_date(tmp_path: Path) -> None:
    """개인정보 보호법 제30조②, 시행령 제31조 (gap 8): a change is announced (공고일) before it applies (시행일)."""
    archive = PolicyArchive(tmp_path / "archive")
    archive.archive(policy(tmp_path, "v1", "2026-01-01"))
    archive.archive(policy(tmp_path, "v2", "2026-12-01", announced="2026-11-24"))
    before, after = archive.in_force(date(2026, 11, 25)), archive.in_force(date(2026, 12, 1))
    assert before is not None and before.version == "v1"
    assert after is not None and after.version == "v2"
    assert archive.in_force(date(2025, 1, 1)) is None
    assert [v.announced.isoformat() for v in archive.versions()] == ["2026-01-01", "2026-11-24"]


def test_article21_ledger_events_expire_three_years_after_their_version_is_superseded(tmp_path: Path) -> None:
    archive = PolicyArchive(tmp_path / "archive")
    for version, effective in (("v1", "2022-01-01"), ("v2", "2023-06-01"), ("v3", "2026-01-01")):
        archive.archive(policy(tmp_path, version, effective))
    assert archive.superseded() == {"v1": date(2023, 6, 1), "v2": date(2026, 1, 1), "v3": None}
    assert archive.expired_versions(date(2026, 5, 31)) == []
    assert archive.expired_versions(date(2026, 6, 1)) == ["v1"]
    assert archive.expired_versions(date(2026, 6, 1), years=5) == []
    with pytest.raises(ValueError, match="at least 1 year"):
        archive.expired_versions(date(2026, 6, 1), years=0)


def test_edited_archive_file_shows_a_different_hash_and_bad_names_are_refused(tmp_path: Path) -> None:
    archive = PolicyArchive(tmp_path / "archive")
    original = archive.archive(policy(tmp_path, "v1", "2026-01-01")).sha256
    path = tmp_path / "archive" / "v1.json"
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace("필수 쿠키".encode(), "필요 쿠키".encode()))
    edited = archive.get("v1")
    assert edited is not None and edited.sha256 != original
    assert archive.get("../etc/passwd") is None


def test_article22_old_versions_are_served_read_only_and_the_ledger_stores_the_text_hash(
    gate_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    old = gate_client()
    accept(old, ["analytics"])
    current = policy(tmp_path, "2027-01-01", "2027-01-01", announced="2026-12-15")
    client = gate_client(policy=current)
    listing = client.get("/_cookiegate/policy/versions").json()
    assert listing["current"] == "2027-01-01"
    assert [v["version"] for v in listing["versions"]] == ["2026-11-01", "2027-01-01"]
    assert listing["versions"][0]["superseded_date"] == "2027-01-01"
    assert listing["versions"][1]["announced_date"] == "2026-12-15"
    earlier = client.get("/_cookiegate/policy/versions/2026-11-01").json()
    assert earlier["read_only"] is True and earlier["sha256"] == policy_sha256(Policy.default())
    assert earlier["document"]["texts"]["en"]["categories"][2]["name"] == "Analytics"
    assert client.get("/_cookiegate/policy/versions/1999").status_code == 404
    assert client.post("/_cookiegate/policy/versions").status_code == 405
    accept(client, ["functional"])
    history = client.get("/_cookiegate/consent").json()["history"]
    assert history[-1]["policy_sha256"] == policy_sha256(current)

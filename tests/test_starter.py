"""``cookiegate init``: a starter policy the README's ``Policy.load("cookiegate.toml")`` reads verbatim."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cookiegate import Policy
from cookiegate.cli import main


def test_init_writes_a_policy_that_loads_as_the_readme_mounts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert "Policy.load('cookiegate.toml')" in capsys.readouterr().out
    policy = Policy.load("cookiegate.toml")
    assert policy.classify("sessionid") == "necessary"  # the shipped knowledge still applies
    assert policy.classify("made_up_cookie") == "targeting"
    assert policy.effective_date.isoformat() == policy.version


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("version = 'mine'\n", encoding="utf-8")
    assert main(["init", str(path)]) == 1
    assert "--force" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "version = 'mine'\n"
    assert main(["init", str(path), "--force"]) == 0
    assert Policy.load(path).version != "mine"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]

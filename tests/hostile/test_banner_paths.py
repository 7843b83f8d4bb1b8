"""Hostile paths for the banner's files: only the shipped files are ever served."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.harness import allowed, assert_holds, http_scope, make_gate, recording_app, run


@pytest.mark.parametrize(
    "name",
    [
        "../../pyproject.toml",
        "..%2f..%2fpyproject.toml",
        "%2e%2e/%2e%2e/pyproject.toml",
        "..\\..\\pyproject.toml",
        "/etc/passwd",
        "....//....//etc/passwd",
        "cookiegate.js/../../../README.md",
        "%00.js",
        "cookiegate.js%00",
        "cookiegate.js\x00.css",
        "\u2025/\u2025/pyproject.toml",
        "./cookiegate.js",
    ],
)
def test_traversal(tmp_path: Path, name: str) -> None:
    gate = make_gate(tmp_path, recording_app())
    outcome = run(gate, http_scope("/_cookiegate/static/" + name))
    assert_holds(outcome, allowed(None))
    assert outcome.status == 404
    assert b"[project]" not in outcome.body and b"root:" not in outcome.body


@pytest.mark.parametrize(
    "name", [".hidden.js", "cookiegate.py", "cookiegate.JS", "a" * 5000 + ".js", "cookiegate.js.bak", "", "é.js"]
)
def test_names_that_are_not_shipped_files(tmp_path: Path, name: str) -> None:
    gate = make_gate(tmp_path, recording_app())
    outcome = run(gate, http_scope("/_cookiegate/static/" + name))
    assert outcome.status == 404
    assert outcome.app_scope is None, "paths under the prefix never fall through to the app"


def test_shipped_file_is_served(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, recording_app())
    outcome = run(gate, http_scope("/_cookiegate/static/cookiegate.js"))
    assert outcome.status == 200 and outcome.body

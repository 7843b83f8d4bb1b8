"""The README's mount snippet works when copied verbatim, and its order of middleware gets the banner."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

README = Path(__file__).resolve().parent.parent / "README.md"


def mount_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Mount it in your app") :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "the README has a python block under 'Mount it in your app'"
    return found.group(1)


def test_mount_snippet_runs_verbatim_and_pages_get_the_banner_then_gzip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)  # the snippet keeps its stores in ./cookiegate-data
    namespace: dict[str, Any] = {"__name__": "shop"}
    exec(compile(mount_snippet(), "README.md", "exec"), namespace)
    with caplog.at_level(logging.WARNING, logger="cookiegate"), TestClient(namespace["app"]) as client:
        page = client.get("/", headers={"accept": "text/html", "accept-encoding": "gzip"})
        assert page.status_code == 200
        assert page.headers["content-encoding"] == "gzip", "compressed after the gate injected"
        assert page.text.count("data-cookiegate-state=") == 1 and "<noscript>" in page.text
        assert "False" in page.text, "the app sees no analytics consent yet"
        client.post("/_cookiegate/consent", json={"granted": ["analytics"]})
        assert "True" in client.get("/", headers={"accept": "text/html"}).text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (tmp_path / "cookiegate-data").is_dir()

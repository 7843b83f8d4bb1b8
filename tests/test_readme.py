"""The README's mount snippet works when copied verbatim, and its order of middleware gets the banner; the
commands of its Korean law section exist with the options they show."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cookiegate.cli import main

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


def korean_law_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Korean law") : text.index("## Dependencies, and why")]
    return re.findall(r"`(cookiegate [^`]+)`", section)


@pytest.mark.parametrize("command", korean_law_commands())
def test_every_command_of_the_korean_law_section_exists_with_the_options_it_shows(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    words = command.split()[1:]
    verb = [w for w in words[:2] if re.fullmatch(r"[a-z][a-z-]*", w)]
    with pytest.raises(SystemExit) as done:
        main([*verb, "--help"])
    usage = capsys.readouterr().out
    assert done.value.code == 0, command
    for option in re.findall(r"--[a-z][a-z-]*", command):
        assert option in usage, f"{command}: {option} is not an option of `cookiegate {' '.join(verb)}`"


def test_the_korean_law_section_maps_each_obligation_to_a_feature_and_what_shows_it() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Korean law") : text.index("## Dependencies, and why")]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 15 and all(len(row) == 3 and all(cell.strip(" |") for cell in row) for row in rows)
    for article in ("시행령 제41조", "제29조", "제21조③", "제13조", "제35조", "제22조의2", "제30조", "제8조"):
        assert article in section, article
    assert len(korean_law_commands()) >= 15

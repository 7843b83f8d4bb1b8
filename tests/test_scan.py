"""``cookiegate scan`` against the demo shop under real uvicorn, in real headless Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cookiegate import Policy
from cookiegate.cli import main
from cookiegate.scan.crawler import same_origin_links
from tests.browser_support import DemoServer, chromium_path

pytest.importorskip("playwright.sync_api")

#: Every cookie the demo sets, who sets it, and its purpose: the server sets four on the home page (and
#: the consent API its own), the page's tagged scripts write three once their purpose is granted.
DEMO_COOKIES = {
    "cookiegate": ("server", "necessary"),
    "session": ("server", "necessary"),
    "lang": ("server", "functional"),
    "_ga": ("server", "analytics"),
    "_fbp": ("server", "targeting"),
    "theme": ("script", "functional"),
    "_gid": ("script", "analytics"),
    "_gcl_au": ("script", "targeting"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    chromium_path()  # skips without Chromium (fails on CI)
    demo = DemoServer(tmp_path_factory.mktemp("demo"))
    demo.start()
    yield demo
    demo.stop()


def _scan(server: DemoServer, out: Path, *extra: str) -> tuple[dict[str, Any], str, str]:
    code = main(
        ["scan", server.url + "/", "--pages", "10", "--out-policy", str(out / "draft.toml"),
         "--report", str(out / "report.md"), "--json", str(out / "scan.json"), *extra]
    )  # fmt: skip
    assert code == 0
    return (
        json.loads((out / "scan.json").read_text(encoding="utf-8")),
        (out / "report.md").read_text(encoding="utf-8"),
        (out / "draft.toml").read_text(encoding="utf-8"),
    )


@pytest.mark.browser
def test_scan_lists_every_cookie_the_demo_sets_with_its_purpose(
    server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found, report, draft = _scan(server, tmp_path)
    seen = {c["name"]: (c["sources"], c["category"]) for c in found["cookies"]}
    assert seen == {name: ([source], category) for name, (source, category) in DEMO_COOKIES.items()}
    assert all(c["first_party"] and c["known_by"] == "knowledge" for c in found["cookies"])
    # Crawled the same-origin links of the home page, not the gate's own API.
    assert {"/", "/privacy", "/whoami"} <= set(found["pages"])
    assert not any(page.startswith("/_cookiegate") for page in found["pages"])
    assert found["consent"].startswith('scanned with consent "accept all"')
    assert "accept all" in report and "Unknown cookies to classify (0)" in report
    # The draft is a policy the gate loads, and it classifies each cookie as the scan did.
    draft_file = tmp_path / "draft.toml"
    policy = Policy.load(draft_file)
    assert all(policy.site_knows(name) and policy.classify(name) == cat for name, (_, cat) in DEMO_COOKIES.items())
    assert '"_gcl_au",  # Google Ads' in draft
    assert "_gcl_au" in capsys.readouterr().out


@pytest.mark.browser
def test_scan_reports_cookies_nobody_classified(server: DemoServer, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('version = "2027-01-01"\ncookie_knowledge = false\n[cookies]\nnecessary = ["session"]\n')
    found, report, draft = _scan(server, tmp_path, "--policy", str(site))
    unknown = sorted(c["name"] for c in found["cookies"] if c["known_by"] == "unknown")
    assert unknown == sorted(set(DEMO_COOKIES) - {"session"})
    assert "Unknown cookies to classify (7)" in report
    assert '"_gid",  # UNKNOWN: classify me (set by script on /' in draft


@pytest.mark.browser
def test_scan_of_a_site_that_does_not_answer_fails_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chromium_path()
    code = main(["scan", "http://127.0.0.1:9/", "--pages", "3", "--timeout", "5",
                 "--out-policy", str(tmp_path / "d.toml"), "--report", str(tmp_path / "r.md")])  # fmt: skip
    assert code == 1
    assert "no page loaded: " in capsys.readouterr().err
    assert not (tmp_path / "d.toml").exists()


def test_scan_refuses_to_overwrite_its_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "draft.toml").write_text("mine", encoding="utf-8")
    code = main(["scan", "http://127.0.0.1:9/", "--out-policy", str(tmp_path / "draft.toml"),
                 "--report", str(tmp_path / "r.md")])  # fmt: skip
    assert code == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "draft.toml").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["http://127.0.0.1:9/", "--pages", "0"], "--pages must be at least 1"),
        (["ftp://shop.test/"], "is not an http(s) URL"),
        (["shop.test"], "is not an http(s) URL"),
    ],
)
def test_bad_arguments_stop_the_scan_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    outputs = ["--out-policy", str(tmp_path / "d.toml"), "--report", str(tmp_path / "r.md")]
    assert main(["scan", *arguments, *outputs]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_broken_policy_file_stops_the_scan_before_the_crawl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "cookiegate.toml"
    broken.write_text("version = [", encoding="utf-8")
    out = ["--out-policy", str(tmp_path / "d.toml"), "--report", str(tmp_path / "r.md")]
    assert main(["scan", "http://127.0.0.1:9/", "--policy", str(broken), *out]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cookiegate.toml"]


def test_only_same_origin_pages_outside_the_gate_api_are_followed() -> None:
    links = same_origin_links(
        "http://shop.test/a/",
        ["b", "/c#top", "http://shop.test:8080/d", "https://shop.test/e", "http://other.test/", "/_cookiegate/x"],
        ("http", "shop.test"),
        "/_cookiegate",
    )
    assert links == ["http://shop.test/a/b", "http://shop.test/c"]

"""Hostile User-Agents: random floods, bot look-alikes, binary and huge strings. Bounded cost each."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from ua_parser import Domain

from cookiegate import useragents
from tests.hostile.harness import (
    Outcome,
    allowed,
    assert_holds,
    http_scope,
    make_gate,
    recording_app,
    run,
    run_counting_calls,
)

HTML = recording_app(body=b"<!doctype html><html><head></head><body>x</body></html>", content_type=b"text/html")
NONE = allowed(None)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every string the parser is handed (the regex pass's cost grows with its length)."""
    useragents.warm()
    resolver = useragents._get_resolver()
    seen: list[str] = []

    def recording(agent: str, domain: Domain) -> object:
        seen.append(agent)
        return resolver(agent, domain)

    monkeypatch.setattr(useragents, "_resolver", recording)
    useragents._describe.cache_clear()
    yield seen
    useragents._describe.cache_clear()


def _page(tmp_path: Path, agent: bytes) -> Outcome:
    gate = make_gate(tmp_path, HTML)
    return run(gate, http_scope(headers=[(b"user-agent", agent), (b"accept", b"text/html")]))


@pytest.mark.parametrize("hinted", [False, True])
def test_a_flood_of_distinct_agents_costs_little_each(tmp_path: Path, hinted: bool, parsed: list[str]) -> None:
    gate = make_gate(tmp_path, HTML)
    run(gate, http_scope(headers=[(b"accept", b"text/html")]))
    rng = random.Random(9)
    word = "bot" if hinted else "Mozilla"
    agents = [
        f"{word}/{i} ({''.join(rng.choices(string.ascii_letters + ' ;/()', k=180))})".encode() for i in range(300)
    ]
    for agent in agents:
        outcome, calls = run_counting_calls(
            gate, http_scope(headers=[(b"user-agent", agent), (b"accept", b"text/html")])
        )
        assert_holds(outcome, NONE)
        assert calls <= 1_500, "a new agent costs at most one parse (a single call into the Rust matcher)"
    assert len(parsed) <= len(agents), "each distinct string is parsed at most once (bot check and log share it)"
    assert useragents._describe.cache_info().currsize <= useragents.CACHE_SIZE


@pytest.mark.parametrize(
    "agent",
    [b"\x00" * 100, b"\xff\xfe" * 5000, b"bot" * 20_000, b"Mozilla/5.0 " + b"(" * 5000, b"", b"\r\n", b"Googlebot\xff"],
)
def test_binary_and_huge_agents(tmp_path: Path, agent: bytes, parsed: list[str]) -> None:
    outcome = _page(tmp_path, agent)
    assert_holds(outcome, NONE)
    assert all(len(text) <= useragents.MAX_LENGTH for text in parsed), "the parser sees a bounded prefix"


@pytest.mark.parametrize(
    ("agent", "banner"),
    [
        (b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", False),
        (b"Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)", False),
        (b"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", True),
        (
            b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
            True,
        ),
    ],
)
def test_crawlers_get_no_banner_browsers_do(tmp_path: Path, agent: bytes, banner: bool) -> None:
    outcome = _page(tmp_path, agent)
    assert_holds(outcome, NONE)
    assert (b"data-cookiegate-api" in outcome.body) is banner

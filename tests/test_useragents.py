"""User-Agent parsing: crawler detection and log fields at a bounded cost per distinct string."""

from __future__ import annotations

import pytest
from ua_parser import Domain

from cookiegate import useragents
from cookiegate.useragents import describe, is_bot

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("agent", "bot"),
    [
        (b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
        (b"Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)", True),
        (b"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", True),
        (CHROME.encode(), False),
        (b"", False),
        (b"\x00\xff\xfe", False),
    ],
)
def test_is_bot(agent: bytes, bot: bool) -> None:
    assert is_bot(agent) is bot


def test_odd_bytes_give_an_answer_not_an_error() -> None:
    assert isinstance(is_bot(b"bot\xff" * 2000), bool)
    assert isinstance(describe("\x00" * 10_000).browser, str)


def test_describe_reads_browser_os_and_device() -> None:
    info = describe(CHROME)
    assert (info.browser, info.os, info.is_bot) == ("Chrome", "Windows", False)
    assert describe("") == useragents.AgentInfo("", "", "", False)


def test_a_bot_check_and_the_log_share_one_parse() -> None:
    agent = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://example.test/unique-bot-for-this-test)"
    before = useragents._describe.cache_info().misses
    assert is_bot(agent.encode("latin-1"))
    assert describe(agent).is_bot
    assert useragents._describe.cache_info().misses == before + 1


def test_long_strings_are_cut_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A regex pass grows with its input (8 KB ~200 µs): only the first ``MAX_LENGTH`` characters are parsed."""
    useragents.warm()
    resolver = useragents._get_resolver()
    seen: list[str] = []

    def recording(agent: str, domain: Domain) -> object:
        seen.append(agent)
        return resolver(agent, domain)

    monkeypatch.setattr(useragents, "_resolver", recording)
    agents = [f"{CHROME} r{i}" + "x" * 4000 for i in range(20)]
    for agent in agents:
        assert describe(agent).browser == "Chrome"
    assert len(seen) == len(agents)
    assert all(len(text) == useragents.MAX_LENGTH for text in seen)

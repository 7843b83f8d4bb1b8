"""The generated cookie section of the privacy policy (개인정보 보호법 제30조①, 통신비밀보호법 시행령 제41조)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from cookiegate.cli import main
from cookiegate.policy import Policy
from cookiegate.policytext import policy_text


def test_article30_korean_section_lists_every_category_with_purpose_items_retention(tmp_path: Path) -> None:
    site = tmp_path / "cookiegate.toml"
    site.write_text('[cookies]\nanalytics = ["_ga", "_ga_*"]\ntargeting = ["_fbp"]\n', encoding="utf-8")
    policy = Policy.load(site)
    text = policy_text(policy, "ko")
    for info in policy.texts("ko").values():
        for value in (info.name, info.purpose, info.items, info.retention):
            assert value in text
    assert "쿠키 설정" in text and "철회" in text
    assert "\\_ga\\_\\*" in text  # cookie names escaped, not read as Markdown emphasis


def test_decree41_statutory_log_row_states_basis_items_and_three_months() -> None:
    ko = policy_text(Policy.default(), "ko", retention_months=3, grace_days=7)
    assert "시행령 제41조②2호" in ko and "접속지 IP 주소" in ko
    assert "3개월(파기 준비 기간 7일 포함 최대 3개월 7일)" in ko
    assert "통신비밀보호법 제13조" in ko
    en = policy_text(Policy.default(), "en", retention_months=6)
    assert "Art. 41(2)2" in en and "6 months" in en


def test_guideline_behavioural_advertising_paragraph_names_items_and_refusal() -> None:
    policy = Policy.default()
    ko = policy_text(policy, "ko")
    assert "행태정보" in ko and policy.texts("ko")["targeting"].items in ko
    en = policy_text(policy, "en")
    assert "Behavioural data" in en and policy.texts("en")["targeting"].items in en


def test_article22_2_under14_paragraph_names_guardian_consent_and_methods() -> None:
    ko = policy_text(Policy.default(), "ko")
    assert "제22조의2①" in ko and "시행령 제17조의2" in ko and "법정대리인" in ko
    en = policy_text(Policy.default(), "en")
    assert "Art. 22-2(1)" in en and "guardian" in en


def test_article30_announced_and_effective_dates_come_from_the_policy(tmp_path: Path) -> None:
    site = tmp_path / "cookiegate.toml"
    site.write_text('version = "2027-01-01"\nannounced_date = 2026-12-20\neffective_date = 2027-01-01\n')
    text = policy_text(Policy.load(site), "ko")
    assert "공고일 2026-12-20 · 시행일 2027-01-01" in text
    site.write_text('version = "v"\nannounced_date = 2027-02-01\neffective_date = 2027-01-01\n')
    with pytest.raises(ValueError, match="공고일"):
        Policy.load(site)


def test_article30_html_is_well_formed_and_escapes_site_texts(tmp_path: Path) -> None:
    site = tmp_path / "cookiegate.toml"
    site.write_text(
        'version = "v1"\n[categories.analytics.en]\nname = "<script>x</script>"\ndescription = "d"\n'
        'purpose = "p"\nitems = "i"\nretention = "r"\nrefusal_notice = "n"\n'
    )
    out = policy_text(Policy.load(site), "en", "html")
    assert "<script>" not in out and "&lt;script&gt;" in out
    opened: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            opened.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert opened.pop() == tag

    Checker().feed(out)
    assert opened == []


def test_cli_policy_text_prints_markdown_or_html(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy-text", "--locale", "en", "--format", "html"]) == 0
    assert capsys.readouterr().out.startswith("<h2>Cookies")
    assert main(["policy-text"]) == 0
    assert capsys.readouterr().out.startswith("## 쿠키")
    assert main(["policy-text", "--policy", "/nonexistent.toml"]) == 2
    assert "nonexistent" in capsys.readouterr().err

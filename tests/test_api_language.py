"""Which language the consent texts are shown in."""

from __future__ import annotations

import pytest

from cookiegate.api import choose_locale


@pytest.mark.parametrize(
    ("header", "explicit", "expected"),
    [
        ("", None, "ko"),
        ("ko-KR,ko;q=0.9,en;q=0.8", None, "ko"),
        ("en-US,ko;q=0.5", None, "en"),
        ("fr-FR,fr;q=0.9", None, "en"),
        ("ko;q=0.2,en;q=0.9", None, "en"),
        ("en;q=abc,ko", None, "ko"),
        ("en", "ko", "ko"),
    ],
)
def test_locale_choice(header: str, explicit: str | None, expected: str) -> None:
    assert choose_locale(header, explicit) == expected


def test_an_unknown_explicit_locale_falls_back_to_the_header() -> None:
    assert choose_locale("en-US", "fr") == "en"
    assert choose_locale("", "xx") == "ko"


def test_only_the_first_twenty_languages_of_a_long_header_count() -> None:
    # A visitor controls the header's length: entries past the twentieth are not read.
    header = ",".join(["fr"] * 20 + ["ko"])
    assert choose_locale(header) == "en"
    assert choose_locale(",".join(["fr"] * 19 + ["ko"])) == "ko"

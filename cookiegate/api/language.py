"""Which language the consent texts are shown in: Korean or English."""

from __future__ import annotations

from typing import Literal

Locale = Literal["ko", "en"]


def choose_locale(accept_language: str, explicit: str | None = None) -> Locale:
    """ko or en: an explicit ``?locale=`` first, then the best of ``Accept-Language`` by q-value.

    Korean-first: no header means Korean; a header naming neither language means English, the
    better guess for a visitor whose browser asks for, say, French.
    """
    chosen = locale_named(explicit)
    if chosen is not None:
        return chosen
    best_quality = 0.0
    best: Locale | None = None
    # At most 20 entries: the header is the visitor's, and its length is theirs to choose.
    for item in accept_language.split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        language = locale_named(tag.strip().lower().split("-", 1)[0])
        if language is None:
            continue
        quality = _quality(params)
        if best is None or quality > best_quality:
            best_quality, best = quality, language
    if best is not None and best_quality > 0:
        return best
    return "en" if accept_language.strip() else "ko"


def locale_named(value: object) -> Locale | None:
    """``value`` as a locale when it is exactly "ko" or "en" (any other value, of any type: None)."""
    if value == "ko":
        return "ko"
    if value == "en":
        return "en"
    return None


def _quality(params: str) -> float:
    """The ``q=`` weight of one Accept-Language entry (RFC 9110 §12.4.2); unreadable means 0."""
    params = params.strip()
    if not params.startswith("q="):
        return 1.0
    try:
        return float(params[2:])
    except ValueError:
        return 0.0

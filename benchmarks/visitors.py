"""Realistic, distinct browser User-Agents shared by the load and soak benchmarks (deterministic)."""

from __future__ import annotations

_UA_TEMPLATES = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.{build}.{patch}"
    " Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{patch}"
    " Safari/605.1.15 Build/{build}",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{patch} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.0 Mobile/15E{build} Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.{build}.{patch}"
    " Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{major}.0) Gecko/20100101 Firefox/{major}.0 Build/{build}.{patch}",
)


def browser_user_agent(index: int) -> str:
    """The ``index``-th of many distinct, realistic browser User-Agents (deterministic)."""
    template = _UA_TEMPLATES[index % len(_UA_TEMPLATES)]
    return template.format(major=110 + index % 15, build=5000 + index // 15 % 1000, patch=index // 15000)

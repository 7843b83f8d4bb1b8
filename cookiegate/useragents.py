"""User-Agent parsing with a bounded cost per distinct string: browser, OS, device, and "is it a crawler".

``user_agents.parse`` costs ~1.2 ms per uncached string (it always takes ua-parser's pure-Python path), so
random User-Agents were a CPU lever an attacker could pull. The ``ua-parser`` 1.x API with its Rust backend
(``ua-parser-rs``, the ``regex`` extra) parses in ~21-40 µs; strings are cut to ``MAX_LENGTH`` first (a
regex pass grows with the input: 8 KB costs ~200 µs), and one bounded cache serves the banner's bot check
and the access log alike, so each distinct string is parsed once.

Compiling the matchers costs ~0.5 s: ``warm()`` at lifespan startup does it off the request path.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from ua_parser import Domain, load_builtins
from ua_parser.core import Resolver
from ua_parser.regex import Resolver as RustResolver

#: Characters parsed; real User-Agents are 100-300 characters, the rest of a longer one is padding.
MAX_LENGTH: Final = 512
CACHE_SIZE: Final = 8192

#: Words every crawler User-Agent we know carries: only strings with one of these are parsed for the bot
#: check (matched against the lower-cased string: ~1 µs, where a case-insensitive regex costs ~8 µs).
_BOT_HINT: Final = re.compile(
    rb"bot|crawl|spider|slurp|archiver|fetch|scrap|preview|facebookexternalhit|mediapartners|yeti|daum"
)


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """What a User-Agent says about the visitor's software ("Other" where it says nothing we know)."""

    browser: str
    os: str
    device: str
    is_bot: bool


_EMPTY: Final = AgentInfo("", "", "", False)
_resolver: Resolver | None = None
_resolver_lock = threading.Lock()


def warm() -> None:
    """Compile the matchers now (~0.5 s), so no request waits for it."""
    _get_resolver()


def _get_resolver() -> Resolver:
    global _resolver  # noqa: PLW0603 - one compiled matcher set per process, built once, read-only after
    resolver = _resolver
    if resolver is None:
        with _resolver_lock:
            if _resolver is None:
                _resolver = RustResolver(load_builtins())
            resolver = _resolver
    return resolver


def describe(user_agent: str) -> AgentInfo:
    """Browser, OS and device family of a User-Agent, and whether it is a crawler; cached per string."""
    if not user_agent:
        return _EMPTY
    return _describe(user_agent[:MAX_LENGTH])


@lru_cache(maxsize=CACHE_SIZE)
def _describe(user_agent: str) -> AgentInfo:
    result = _get_resolver()(user_agent, Domain.ALL)
    agent, system, device = result.user_agent, result.os, result.device
    device_family = device.family if device else "Other"
    return AgentInfo(
        browser=agent.family if agent else "Other",
        os=system.family if system else "Other",
        device=device_family,
        # ua-parser files every crawler it knows under the device family "Spider".
        is_bot=device_family == "Spider",
    )


def is_bot(user_agent: bytes) -> bool:
    """Whether a User-Agent is a crawler (served normally, but never shown the banner).

    Only hinted strings are parsed; the parse is the one ``describe`` caches for the access log.
    """
    if _BOT_HINT.search(user_agent[:MAX_LENGTH].lower()) is None:
        return False
    return describe(user_agent.decode("latin-1")).is_bot

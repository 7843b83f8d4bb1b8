"""The pure judgement of one Cookie header: consent, GPC and age in; what the app may see and what is blocked.

Kept apart from its caches (``verdict.Verdicts``) so the rule reads, and is tested, on its own: the callables
do every lookup, and nothing here remembers anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cookiegate.consent import CONSENT_COOKIE, Consent, narrow
from cookiegate.cookies import CookieHeader, pair_value, parse_cookie_header
from cookiegate.policy import Category

#: The consent cookie's name as the raw Cookie header carries it.
CONSENT_COOKIE_BYTES: Final = CONSENT_COOKIE.encode("ascii")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one Cookie header means for one visitor: consent, names to block, the header the app gets.

    ``kept`` is the Cookie header the app receives when something is ``blocked`` (None: the header stays as
    sent, so one verdict serves every header with the same cookie names).
    """

    consent: Consent
    blocked: tuple[str, ...]
    kept: bytes | None
    expires_at: float


def judge(
    cookie_header: bytes,
    *,
    gpc: bool,
    minor: bool,
    category_of: Callable[[bytes], Category],
    decode: Callable[[bytes], Consent | None],
    default: Consent,
    expires_at: Callable[[Consent], float],
    pairs: CookieHeader | None = None,
) -> Verdict:
    """Decide what a Cookie header may carry for this visitor (pure: the callables do the lookups).

    Works on raw bytes: no name is decoded unless it is blocked. ``pairs`` is
    ``parse_cookie_header(cookie_header)`` when the caller has it already. ``kept`` is None when the app may
    get the header as it is; it is rebuilt from the well-formed pairs whenever anything was blocked or dropped
    as malformed, so the app's parser, whichever it is, finds only names the gate judged.
    """
    parsed = parse_cookie_header(cookie_header) if pairs is None else pairs
    judged: list[tuple[bytes, bytes, Category]] = []
    stored: Consent | None = None
    for name, pair in parsed.pairs:
        # The first consent cookie that verifies wins: a sibling subdomain can toss in a second cookie of
        # the same name (cookie tossing) but cannot sign one.
        if stored is None and name == CONSENT_COOKIE_BYTES:
            stored = decode(pair_value(pair))
        judged.append((name, pair, category_of(name)))
    consent = narrow(stored or default, gpc=gpc, minor=minor)
    granted = consent.granted
    blocked = tuple(name.decode("latin-1") for name, _, category in judged if category not in granted)
    rebuild = blocked or parsed.dropped
    kept = b"; ".join(pair for _, pair, category in judged if category in granted) if rebuild else None
    return Verdict(consent, blocked, kept, expires_at(consent))

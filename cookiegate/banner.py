"""The banner: the tag injected into HTML pages (per consent state) and who never gets it (crawlers).

Where the tag goes, and the page's ``<noscript>`` form with it, is injection.py's job.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from typing import Final

import orjson

from cookiegate.bounded import FifoCache
from cookiegate.consent import Consent
from cookiegate.injection import WholePages
from cookiegate.noscript import NoscriptForms
from cookiegate.policy import Policy
from cookiegate.static import banner_asset_names
from cookiegate.useragents import MAX_LENGTH, is_bot

logger = logging.getLogger("cookiegate")

#: Distinct User-Agents (and distinct consent states) whose answer is remembered.
BOT_CACHE_SIZE: Final = 4096
TAG_CACHE_SIZE: Final = 8192


class Banner:
    """Builds the injected tag per consent state and tells crawlers apart; bounded caches for both."""

    __slots__ = (
        "_bot_cache", "_bots", "_tag_cache", "_tag_head", "_tags", "enabled", "forms", "pages", "warned_compressed",
    )  # fmt: skip
    _tag_tail: Final = b'"></script>'

    def __init__(self, prefix: str, *, enabled: bool, policy: Policy | None = None) -> None:
        script, stylesheet = banner_asset_names()
        self._tag_head = (
            f'<link rel="stylesheet" href="{prefix}/static/{stylesheet}">'
            f'<script defer src="{prefix}/static/{script}" data-cookiegate-api="{prefix}" '
            'data-cookiegate-state="'
        ).encode()
        self.enabled = enabled and bool(script)
        # Keyed by the identity of a cached Consent (hashing the dataclass runs Python code: ~1 µs); the value
        # holds the Consent itself, so the id cannot be reused while the entry lives.
        self._tag_cache: FifoCache[int, tuple[Consent, bytes]] = FifoCache(TAG_CACHE_SIZE)
        self._tags = self._tag_cache.entries
        self._bot_cache: FifoCache[bytes, bool] = FifoCache(BOT_CACHE_SIZE)
        self._bots = self._bot_cache.entries
        #: The ``<noscript>`` forms (built per locale here, per page on first use), or None without a policy.
        self.forms = NoscriptForms(policy, prefix) if policy is not None and self.enabled else None
        #: One-message pages: where the tag and the form go, remembered per page.
        self.pages = WholePages(self.forms)
        self.warned_compressed = False

    def notice_unrewritable(self, headers: Iterable[Sequence[bytes]]) -> None:
        """Warn once, loudly, when an HTML page arrives compressed: no page can then carry the banner.

        Seen when compression runs inside the gate (Starlette's ``GZipMiddleware`` added before ``CookieGate``,
        so it wraps the app and the gate only sees gzip). Visitors could then never consent.
        """
        content_type = encoding = b""
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-type":
                content_type = value
            elif lowered == b"content-encoding":
                encoding = value
        if content_type[:9].lower() != b"text/html" or encoding.strip().lower() in (b"", b"identity"):
            return
        self.warned_compressed = True
        logger.warning(
            "cookiegate: an HTML page arrived already compressed (Content-Encoding: %s), so the consent banner "
            "cannot be injected and visitors cannot consent on any such page. Compress OUTSIDE the gate: in "
            "Starlette/FastAPI the middleware added last runs first, so add CookieGate first and GZipMiddleware "
            "after it:\n"
            "    app.add_middleware(CookieGate, secret_keys=[...])\n"
            "    app.add_middleware(GZipMiddleware)  # added last: compresses the page the gate injected into\n"
            "or Starlette(middleware=[Middleware(GZipMiddleware), Middleware(CookieGate, secret_keys=[...])]) "
            "(the first listed is the outermost). Or compress in the proxy (nginx, Caddy). "
            "This warning is shown once per gate.",
            encoding.decode("latin-1"),
        )

    def tag_for(self, consent: Consent, user_agent: bytes) -> bytes | None:
        """The tag to inject for this visitor, or None for a crawler (or with injection turned off).

        A visitor with a valid choice made it in the banner, so is no crawler to keep the banner from: their
        User-Agent is not looked up (hashing it cost ~400 instructions a page, for 3 in 4 requests).
        """
        if not self.enabled:
            return None
        if user_agent and not consent.chosen:
            bot = self._bots.get(user_agent)
            if bot or (bot is None and self.is_bot(user_agent)):
                return None
        entry = self._tags.get(id(consent))
        if entry is not None and entry[0] is consent:
            return entry[1]
        tag = self.build_tag(consent)
        self._tag_cache.put(id(consent), (consent, tag))
        return tag

    def build_tag(self, consent: Consent) -> bytes:
        """The tag, carrying the visitor's consent so a returning visitor sees no banner flicker."""
        state = consent.as_public_dict()
        state["banner"] = True
        escaped = html.escape(orjson.dumps(state).decode(), quote=True)
        return self._tag_head + escaped.encode() + self._tag_tail

    def is_bot(self, user_agent: bytes) -> bool:
        """``is_bot`` through a bounded per-gate cache (a browser's User-Agent repeats on every request)."""
        user_agent = user_agent[:MAX_LENGTH]  # the part is_bot reads; a 60 KB key would pin 60 KB of memory
        known = self._bots.get(user_agent)
        if known is None:
            known = is_bot(user_agent)
            self._bot_cache.put(user_agent, known)  # bounded: random User-Agents cost a regex each, never memory
        return known

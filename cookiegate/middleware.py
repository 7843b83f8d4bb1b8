"""``CookieGate``: the pure ASGI middleware that enforces cookie consent on every request and response.

One scan of the request headers, one dict lookup for a returning visitor's consent, a filtered Cookie
header for the app, and a send wrapper that drops Set-Cookie headers of categories the visitor did not
grant. Everything configurable is resolved in ``__init__``; nothing per request is stored on ``self``.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import orjson
import user_agents
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cookiegate.api import ConsentAPI
from cookiegate.consent import CONSENT_COOKIE, Consent, ConsentCodec, narrow, no_consent
from cookiegate.cookies import cookie_pairs, expiry_headers, pair_value, set_cookie_name
from cookiegate.injection import BannerInjector
from cookiegate.minors import MINOR_RESPONSE_HEADER, MarketingParams, MinorHook, flagged_by_app
from cookiegate.policy import CATEGORIES, Category, Policy
from cookiegate.records.retention import validate_retention_months
from cookiegate.services import Services, open_services
from cookiegate.static import banner_asset_names

logger = logging.getLogger("cookiegate")

SCOPE_KEY: Final = "cookiegate"
_READ_HEADERS: Final = frozenset((b"cookie", b"user-agent", b"accept", b"sec-gpc", b"x-forwarded-for", b"forwarded"))
_GATED_RESPONSE_HEADERS: Final = frozenset((b"set-cookie", b"vary", MINOR_RESPONSE_HEADER))
_CONSENT_COOKIE_BYTES: Final = CONSENT_COOKIE.encode("ascii")
_VERDICT_CACHE_SIZE: Final = 8192
_VERDICT_HEADER_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What one Cookie header means for one visitor: consent, names to block, the header the app gets."""

    consent: Consent
    blocked: tuple[str, ...]
    kept: bytes
    expires_at: float


def get_consent(scope: Scope) -> Consent:
    """The consent the gate resolved for this request (``request.scope`` works too).

    Raises LookupError when the app is not behind a ``CookieGate``: silently assuming consent would
    be the unsafe default.
    """
    consent = scope.get(SCOPE_KEY)
    if not isinstance(consent, Consent):
        raise LookupError("no consent in scope: is the app wrapped in CookieGate?")
    return consent


#: Words every crawler User-Agent we know carries. ``user_agents.parse`` costs ~1.2 ms uncached, so random
#: User-Agent strings would make it a denial-of-service lever: only strings with one of these get parsed.
#: Matched against the lower-cased string: a case-insensitive regex costs ~8 µs on a 120-byte UA, this ~1 µs.
_BOT_HINT: Final = re.compile(
    rb"bot|crawl|spider|slurp|archiver|fetch|scrap|preview|facebookexternalhit|mediapartners|yeti|daum"
)
_BOT_CACHE_SIZE: Final = 4096


def is_bot(user_agent: bytes) -> bool:
    """Whether a User-Agent is a crawler (served normally, but never shown the banner)."""
    return _BOT_HINT.search(user_agent.lower()) is not None and _parsed_is_bot(user_agent)


@lru_cache(maxsize=4096)
def _parsed_is_bot(user_agent: bytes) -> bool:
    return bool(user_agents.parse(user_agent.decode("latin-1")).is_bot)


class CookieGate:
    """Consent-aware pure ASGI middleware.

    ``CookieGate(app, secret_keys=[...])`` works with nothing else given: the default policy, the consent
    API under ``/_cookiegate`` and the access log and consent ledger as SQLite files in ``./cookiegate-data``.
    In Starlette/FastAPI: ``app.add_middleware(CookieGate, secret_keys=[...])``.
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_keys: Sequence[str | bytes],
        policy: Policy | None = None,
        *,
        prefix: str = "/_cookiegate",
        data_dir: str | Path = "./cookiegate-data",
        access_log: bool = True,
        access_log_url: str | None = None,
        ledger_url: str | None = None,
        aggregates_url: str | None = None,
        retention_months: int = 3,
        trusted_proxies: Iterable[str] = (),
        cookie_domains: Iterable[str] = (),
        is_minor: MinorHook | None = None,
        child_directed: bool | None = None,
        inject_banner: bool = True,
        expire_blocked: bool = True,
        marketing_params: Iterable[str] | None = None,
        services: Services | None = None,
    ) -> None:
        validate_retention_months(retention_months)
        if not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2:
            raise ValueError(f"prefix must look like '/_cookiegate' (leading slash, no trailing), not {prefix!r}")
        self.app = app
        self.policy = policy or Policy.default()
        self.codec = ConsentCodec(
            secret_keys,
            version=self.policy.version,
            max_age_seconds=self.policy.consent_max_age_days * 86_400,
        )
        self.prefix = prefix
        self._prefix_slash = prefix + "/"
        self.cookie_domains = tuple(cookie_domains)
        self.is_minor = is_minor
        self.child_directed = self.policy.child_directed if child_directed is None else child_directed
        self.expire_blocked = expire_blocked
        self.marketing = MarketingParams(
            self.policy.marketing_params if marketing_params is None else marketing_params
        )
        self.services = services or open_services(
            data_dir=Path(data_dir),
            access_log_url=access_log_url,
            ledger_url=ledger_url,
            aggregates_url=aggregates_url,
            access_log=access_log,
            retention_months=retention_months,
            trusted_proxies=tuple(trusted_proxies),
        )
        self._started = False
        self._no_consent = no_consent(self.policy.version)
        self._verdicts: dict[tuple[bytes, bool, bool], _Verdict] = {}
        self._bots: dict[bytes, bool] = {}
        self._cookie_category: dict[bytes, Category] = {}
        self._tags: dict[Consent, bytes] = {}
        domains = self.cookie_domains

        # The same few leaked names recur on every page view: build their deletion headers once.
        @lru_cache(maxsize=1024)
        def expiry_for(names: tuple[str, ...], secure: bool) -> tuple[tuple[bytes, bytes], ...]:
            return tuple(expiry_headers(names, domains, secure))

        self._expiry_headers = expiry_for
        self.api = ConsentAPI(
            policy=self.policy,
            codec=self.codec,
            prefix=prefix,
            services=self.services,
            cookie_domains=self.cookie_domains,
        )
        script, stylesheet = banner_asset_names()
        self._tag_head = (
            f'<link rel="stylesheet" href="{prefix}/static/{stylesheet}">'
            f'<script defer src="{prefix}/static/{script}" data-cookiegate-api="{prefix}" '
            'data-cookiegate-state="'
        ).encode()
        self._tag_tail = b'"></script>'
        self.inject_banner = inject_banner and bool(script)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http":
            if scope_type == "lifespan":
                await self._lifespan(scope, receive, send)
            elif scope_type == "websocket":
                await self.app(self._websocket_scope(scope), receive, send)
            else:
                await self.app(scope, receive, send)
            return
        started_ns = time.perf_counter_ns()
        if not self._started:
            self._start_services()

        cookie_values: list[bytes] = []
        gpc = False
        user_agent = b""
        forwarded_for: bytes | None = None
        forwarded: bytes | None = None
        wants_html = False
        for name, value in scope["headers"]:
            # One set lookup skips the ~10 headers a browser sends that the gate does not read.
            if name not in _READ_HEADERS:
                continue
            if name == b"cookie":
                cookie_values.append(value)
            elif name == b"user-agent":
                user_agent = value
            elif name == b"accept":
                wants_html = b"text/html" in value
            elif name == b"sec-gpc":
                gpc = value.strip() == b"1"
            elif name == b"x-forwarded-for":
                forwarded_for = value if forwarded_for is None else forwarded_for + b"," + value
            else:
                forwarded = value if forwarded is None else forwarded + b"," + value

        minor = self.child_directed or (self.is_minor is not None and flagged_by_app(self.is_minor, scope))
        # A browser sends one Cookie header; HTTP/2 may split it, and RFC 9113 §8.2.3 says join with "; ".
        cookie_header = cookie_values[0] if len(cookie_values) == 1 else b"; ".join(cookie_values)
        verdict = self._verdicts.get((cookie_header, gpc, minor))
        if verdict is None or time.time() > verdict.expires_at:
            verdict = self._judge(cookie_header, gpc, minor)
        consent = verdict.consent
        granted = consent.granted
        blocked = verdict.blocked
        path: str = scope["path"]
        new_scope = dict(scope)
        new_scope[SCOPE_KEY] = consent
        if blocked:
            headers = [(n, v) for n, v in scope["headers"] if n != b"cookie"]
            if verdict.kept:
                headers.append((b"cookie", verdict.kept))
            new_scope["headers"] = headers
            self.services.leaks.count_all("request", blocked, path)
        if consent.minor:
            query: bytes = scope.get("query_string", b"")
            if query:
                new_scope["query_string"] = self.marketing.strip(query)

        secure = scope.get("scheme") in ("https", "wss")
        status = 0
        sent_bytes = 0
        finished = False
        access_log = self.services.access_log

        is_api = path == self.prefix or path.startswith(self._prefix_slash)
        # The consent API expires cookies against the consent it just recorded, not the one it replaced.
        to_expire = blocked if self.expire_blocked and not is_api else ()

        async def send_gated(message: Message) -> None:
            nonlocal status, sent_bytes, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                message = self._gate_response_start(message, granted, to_expire, secure, path)
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if finished and access_log is not None:
                    # Spooled before the last byte leaves: a response the client got always has a record,
                    # even if the process is killed right after (통신비밀보호법 시행령 제41조).
                    access_log.log(new_scope, status, sent_bytes, started_ns, consent, user_agent,
                                   forwarded_for, forwarded)
            await send(message)

        downstream: Send = send_gated
        if self.inject_banner and wants_html and not is_api and not (user_agent and self._is_bot(user_agent)):
            downstream = BannerInjector(send_gated, self._banner_tag(consent))

        try:
            if is_api:
                sent_names = [name.decode("latin-1") for name, _ in cookie_pairs(cookie_header)]
                await self.api(new_scope, receive, send_gated, sent_names)
            else:
                await self.app(new_scope, receive, downstream)
        except BaseException:
            if access_log is not None and not finished:
                # A request that died still happened: the statutory log keeps it (status 500 as sent).
                access_log.log(new_scope, status or 500, sent_bytes, started_ns, consent, user_agent,
                               forwarded_for, forwarded)
            raise

    def _is_bot(self, user_agent: bytes) -> bool:
        known = self._bots.get(user_agent)
        if known is None:
            known = is_bot(user_agent)
            if len(self._bots) >= _BOT_CACHE_SIZE:
                self._bots.clear()  # bounded: random User-Agents cost a regex each, never memory
            self._bots[user_agent] = known
        return known

    def _judge(self, cookie_header: bytes, gpc: bool, minor: bool) -> _Verdict:
        """Decide what a Cookie header may carry for this visitor; cached, as a visitor's header repeats.

        A miss is common (analytics cookies such as ``_ga_<id>`` change value on every page view), so this
        works on raw bytes with a bytes-keyed category cache: no name is decoded unless it is blocked.
        """
        category_of = self._cookie_category
        pairs: list[tuple[bytes, bytes, Category]] = []
        stored: Consent | None = None
        for name, pair in cookie_pairs(cookie_header):
            category = category_of.get(name)
            if category is None:
                category = self._remember_cookie(name)
            # The first consent cookie that verifies wins: a sibling subdomain can toss in a second
            # cookie of the same name (cookie tossing) but cannot sign one.
            if stored is None and name == _CONSENT_COOKIE_BYTES:
                stored = self.codec.decode(pair_value(pair))
            pairs.append((name, pair, category))
        consent = narrow(stored or self._no_consent, gpc=gpc, minor=minor)
        granted = consent.granted
        blocked = tuple(name.decode("latin-1") for name, _, category in pairs if category not in granted)
        kept = b"; ".join(pair for _, pair, category in pairs if category in granted) if blocked else cookie_header
        verdict = _Verdict(consent, blocked, kept, self.codec.expires_at(consent))
        if len(cookie_header) <= _VERDICT_HEADER_LIMIT:
            if len(self._verdicts) >= _VERDICT_CACHE_SIZE:
                # Bounded: a flood of distinct headers costs a re-parse each, never unbounded memory.
                self._verdicts.clear()
            self._verdicts[(cookie_header, gpc, minor)] = verdict
        return verdict

    def _remember_cookie(self, name: bytes) -> Category:
        category = self.policy.classify(name.decode("latin-1"))
        if len(self._cookie_category) >= _BOT_CACHE_SIZE:
            self._cookie_category.clear()  # bounded: random names cost a classification each
        self._cookie_category[name] = category
        return category

    def _banner_tag(self, consent: Consent) -> bytes:
        """The injected tag for this consent, built once per distinct consent state."""
        tag = self._tags.get(consent)
        if tag is None:
            if len(self._tags) >= _VERDICT_CACHE_SIZE:
                self._tags.clear()
            tag = self._tags[consent] = self._build_banner_tag(consent)
        return tag

    def _gate_response_start(
        self, message: Message, granted: frozenset[Category], expire: tuple[str, ...], secure: bool, path: str
    ) -> Message:
        """Drop Set-Cookie of non-granted categories, consume the app's minor flag, add Vary and expiries."""
        category_of = self._cookie_category
        allow_all = len(granted) == len(CATEGORIES)  # "accept all": no Set-Cookie needs classifying
        out: list[tuple[bytes, bytes]] = []
        dropped: list[str] = []
        vary_at = -1
        for name, value in message.get("headers", ()):
            lowered = name
            # ASGI asks for lower-case names, but an app that sends "Set-Cookie" must not slip through.
            if name not in _GATED_RESPONSE_HEADERS and (
                name.islower() or (lowered := name.lower()) not in _GATED_RESPONSE_HEADERS
            ):
                out.append((name, value))
                continue
            if lowered == b"set-cookie" and not allow_all:
                cookie = set_cookie_name(value)
                category = category_of.get(cookie)
                if category is None:
                    category = self._remember_cookie(cookie)
                if category not in granted:
                    dropped.append(cookie.decode("latin-1"))
                    continue
            elif lowered == MINOR_RESPONSE_HEADER:
                if "targeting" in granted and value.strip().lower() in (b"1", b"true", b"yes"):
                    # The app knows the visitor is under 14 (제22조의2): gate this response as a minor's.
                    return self._gate_response_start(message, granted - {"targeting"}, expire, secure, path)
                continue
            elif lowered == b"vary":
                vary_at = len(out)
            out.append((name, value))
        if dropped:
            self.services.leaks.count_all("response", dropped, path)
        # The response depends on consent, so shared caches must key on Cookie (STYLE rule 5).
        if vary_at == -1:
            out.append((b"vary", b"Cookie"))
        else:
            vary = out[vary_at][1]
            if b"cookie" not in vary.lower() and vary.strip() != b"*":
                out[vary_at] = (out[vary_at][0], vary + b", Cookie")
        if expire:
            out.extend(self._expiry_headers(expire, secure))
        # The message is ours to change: the app handed it to ``send`` and will not read it again.
        message["headers"] = out
        return message

    def _build_banner_tag(self, consent: Consent) -> bytes:
        """The injected tag, carrying the visitor's consent so a returning visitor sees no banner flicker."""
        state = consent.as_public_dict()
        state["banner"] = True
        escaped = html.escape(orjson.dumps(state).decode(), quote=True)
        return self._tag_head + escaped.encode() + self._tag_tail

    def _websocket_scope(self, scope: Scope) -> Scope:
        """A WebSocket handshake carries cookies too: the app sees only the granted ones, and the consent."""
        cookie_values = [v for n, v in scope["headers"] if n == b"cookie"]
        gpc = any(n == b"sec-gpc" and v.strip() == b"1" for n, v in scope["headers"])
        minor = self.child_directed or (self.is_minor is not None and flagged_by_app(self.is_minor, scope))
        verdict = self._judge(b"; ".join(cookie_values), gpc, minor)
        headers = scope["headers"]
        if verdict.blocked:
            headers = [(n, v) for n, v in headers if n != b"cookie"]
            if verdict.kept:
                headers.append((b"cookie", verdict.kept))
        return {**scope, "headers": headers, SCOPE_KEY: verdict.consent}

    def _start_services(self) -> None:
        self._started = True
        self.services.start()

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Start the log writer and purge timer with the app, and drain them when it stops."""

        async def receive_lifespan() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and not self._started:
                self._start_services()
            return message

        async def send_lifespan(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self._stop_services()
            await send(message)

        try:
            await self.app(scope, receive_lifespan, send_lifespan)
        finally:
            self._stop_services()

    def _stop_services(self) -> None:
        if self._started:
            self._started = False
            self.services.stop()


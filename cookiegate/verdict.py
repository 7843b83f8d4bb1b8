"""What a request's cookies mean: consent, GPC and age in; what the app may see and what is blocked out.

One scan of ``scope["headers"]`` reads the few headers the gate needs; the Cookie header then goes through
``judge`` (a pure function) behind a bounded cache, because a visitor's header repeats from page to page.
HTTP requests and WebSocket handshakes resolve through the same ``Verdicts.resolve``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from starlette.types import Scope

from cookiegate.consent import CONSENT_COOKIE, Consent, ConsentCodec, narrow
from cookiegate.cookies import pair_value, parse_cookie_header
from cookiegate.minors import MarketingParams, MinorHook, flagged_by_app
from cookiegate.policy import Category, Policy

#: Where the resolved ``Consent`` lives in the scope the app gets (``get_consent`` reads it).
SCOPE_KEY: Final = "cookiegate"
_READ_HEADERS: Final = frozenset(
    (b"cookie", b"user-agent", b"accept", b"sec-gpc", b"x-forwarded-for", b"forwarded", b"referer")
)
_CONSENT_COOKIE_BYTES: Final = CONSENT_COOKIE.encode("ascii")
#: Distinct (Cookie header, GPC, minor) verdicts kept; one per visitor and page-view state.
VERDICT_CACHE_SIZE: Final = 8192
#: Longer headers are judged every time: caching them would let a few big headers fill memory.
VERDICT_HEADER_LIMIT: Final = 4096
#: Distinct cookie names whose category is remembered (random names cost a classification each).
CATEGORY_CACHE_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one Cookie header means for one visitor: consent, names to block, the header the app gets.

    ``kept`` is the Cookie header the app receives (the original bytes when nothing is blocked).
    """

    consent: Consent
    blocked: tuple[str, ...]
    kept: bytes
    expires_at: float


@dataclass(slots=True)
class RequestFacts:
    """The request headers the gate reads, from one pass over ``scope["headers"]``."""

    cookie: bytes = b""
    gpc: bool = False
    user_agent: bytes = b""
    wants_html: bool = False
    forwarded_for: bytes | None = None
    forwarded: bytes | None = None
    referer: bytes = b""


def read_request(headers: Iterable[tuple[bytes, bytes]]) -> RequestFacts:
    """Everything the gate needs from the request headers, in one pass."""
    facts = RequestFacts()
    cookies: list[bytes] = []
    for name, value in headers:
        # One set lookup skips the ~10 headers a browser sends that the gate does not read.
        if name not in _READ_HEADERS:
            continue
        if name == b"cookie":
            cookies.append(value)
        elif name == b"user-agent":
            facts.user_agent = value
        elif name == b"accept":
            facts.wants_html = b"text/html" in value
        elif name == b"sec-gpc":
            facts.gpc = value.strip() == b"1"
        elif name == b"referer":
            facts.referer = value
        elif name == b"x-forwarded-for":
            facts.forwarded_for = value if facts.forwarded_for is None else facts.forwarded_for + b"," + value
        else:
            facts.forwarded = value if facts.forwarded is None else facts.forwarded + b"," + value
    if cookies:
        # A browser sends one Cookie header; HTTP/2 may split it, and RFC 9113 §8.2.3 says join with "; ".
        facts.cookie = cookies[0] if len(cookies) == 1 else b"; ".join(cookies)
    return facts


def judge(
    cookie_header: bytes,
    *,
    gpc: bool,
    minor: bool,
    category_of: Callable[[bytes], Category],
    decode: Callable[[bytes], Consent | None],
    default: Consent,
    expires_at: Callable[[Consent], float],
) -> Verdict:
    """Decide what a Cookie header may carry for this visitor (pure: the callables do the lookups).

    Works on raw bytes: no name is decoded unless it is blocked, as misses are common (analytics cookies
    such as ``_ga_<id>`` change value on every page view).
    """
    pairs: list[tuple[bytes, bytes, Category]] = []
    stored: Consent | None = None
    parsed = parse_cookie_header(cookie_header)
    for name, pair in parsed.pairs:
        # The first consent cookie that verifies wins: a sibling subdomain can toss in a second cookie of
        # the same name (cookie tossing) but cannot sign one.
        if stored is None and name == _CONSENT_COOKIE_BYTES:
            stored = decode(pair_value(pair))
        pairs.append((name, pair, category_of(name)))
    consent = narrow(stored or default, gpc=gpc, minor=minor)
    granted = consent.granted
    blocked = tuple(name.decode("latin-1") for name, _, category in pairs if category not in granted)
    # Rebuilt from the well-formed pairs whenever anything was blocked or dropped as malformed: the app's
    # parser, whichever it is, then finds only names the gate judged.
    if blocked or parsed.dropped:
        kept = b"; ".join(pair for _, pair, category in pairs if category in granted)
    else:
        kept = cookie_header
    return Verdict(consent, blocked, kept, expires_at(consent))


class Verdicts:
    """The gate's request-side decisions with their bounded caches (one instance per ``CookieGate``)."""

    __slots__ = ("_categories", "_verdicts", "codec", "default", "policy")

    def __init__(self, policy: Policy, codec: ConsentCodec, default: Consent) -> None:
        self.policy = policy
        self.codec = codec
        self.default = default
        self._verdicts: dict[tuple[bytes, bool, bool], Verdict] = {}
        self._categories: dict[bytes, Category] = {}

    def category(self, name: bytes) -> Category:
        """The policy category of a raw cookie name, through a bytes-keyed cache (no decoding on a hit)."""
        category = self._categories.get(name)
        if category is None:
            category = self.policy.classify(name.decode("latin-1"))
            if len(self._categories) >= CATEGORY_CACHE_SIZE:
                self._categories.clear()  # bounded: random names cost a classification each, never memory
            self._categories[name] = category
        return category

    def verdict(self, cookie_header: bytes, gpc: bool, minor: bool) -> Verdict:
        """``judge`` through the cache; a cached verdict is dropped once its consent has expired."""
        key = (cookie_header, gpc, minor)
        verdict = self._verdicts.get(key)
        if verdict is not None and time.time() <= verdict.expires_at:
            return verdict
        verdict = judge(
            cookie_header,
            gpc=gpc,
            minor=minor,
            category_of=self.category,
            decode=self.codec.decode,
            default=self.default,
            expires_at=self.codec.expires_at,
        )
        if len(cookie_header) <= VERDICT_HEADER_LIMIT:
            if len(self._verdicts) >= VERDICT_CACHE_SIZE:
                # Bounded: a flood of distinct headers costs a re-parse each, never unbounded memory.
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def resolve(
        self, scope: Scope, *, minor_hook: MinorHook | None, child_directed: bool, marketing: MarketingParams
    ) -> tuple[Verdict, RequestFacts]:
        """Judge a request (HTTP or WebSocket handshake) and edit ``scope`` in place to what the app may see.

        In place, as Starlette's own ``SessionMiddleware`` sets ``scope["session"]``: the server built this
        scope for this request alone, and copying it costs more than the whole lookup. Only a blocked or
        malformed cookie replaces the header list, and only a minor's URL (query, path parameters) and Referer
        are rewritten.
        """
        facts = read_request(scope["headers"])
        minor = child_directed or (minor_hook is not None and flagged_by_app(minor_hook, scope))
        verdict = self.verdict(facts.cookie, facts.gpc, minor)
        scope[SCOPE_KEY] = verdict.consent
        if verdict.kept != facts.cookie:
            headers = [(n, v) for n, v in scope["headers"] if n != b"cookie"]
            if verdict.kept:
                headers.append((b"cookie", verdict.kept))
            scope["headers"] = headers
        if verdict.consent.minor:
            _strip_marketing(scope, facts, marketing)
        return verdict, facts


def _strip_marketing(scope: Scope, facts: RequestFacts, marketing: MarketingParams) -> None:
    """A child's campaign and click identifiers never reach the app (개인정보 보호법 제22조의2).

    From the query string, from path parameters (``/shop;gclid=1``, in ``path`` and ``raw_path``), and from
    the ``Referer``, which carries the landing URL into every next page view.
    """
    query: bytes = scope.get("query_string", b"")
    if query:
        scope["query_string"] = marketing.strip(query)
    path: str = scope["path"]
    if ";" in path:
        raw = path.encode("utf-8", "surrogatepass")
        scope["path"] = marketing.strip_path(raw).decode("utf-8", "surrogatepass")
    raw_path = scope.get("raw_path")
    if raw_path and b";" in raw_path:
        scope["raw_path"] = marketing.strip_path(raw_path)
    if facts.referer:
        cleaned = marketing.clean_referer(facts.referer)
        if cleaned != facts.referer:
            scope["headers"] = [(n, cleaned if n == b"referer" else v) for n, v in scope["headers"]]


def get_consent(scope: Scope) -> Consent:
    """The consent the gate resolved for this request (``request.scope`` works too).

    Raises LookupError when the app is not behind a ``CookieGate``: silently assuming consent would be the
    unsafe default.
    """
    consent = scope.get(SCOPE_KEY)
    if not isinstance(consent, Consent):
        raise LookupError("no consent in scope: is the app wrapped in CookieGate?")
    return consent

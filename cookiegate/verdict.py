"""What a request's cookies mean: consent, GPC and age in; what the app may see and what is blocked out.

One scan of ``scope["headers"]`` reads the few headers the gate needs; the Cookie header then goes through
``judge`` (a pure function) behind a bounded cache, because a visitor's header repeats from page to page.
HTTP requests and WebSocket handshakes resolve through the same ``Verdicts.resolve``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Final

from starlette.types import Scope

from cookiegate.bounded import FifoCache
from cookiegate.consent import Consent
from cookiegate.consent_cookie import ConsentCodec
from cookiegate.cookies import VOLATILE_PREFIX, cut_volatile_values, parse_cookie_header, with_volatile_values
from cookiegate.judge import CONSENT_COOKIE_BYTES, Verdict, judge
from cookiegate.minors import MarketingParams, MinorHook, flagged_by_app
from cookiegate.policy import Category, Policy
from cookiegate.request_facts import RequestFacts, read_request, without_cookie_headers

__all__ = ["SCOPE_KEY", "RequestFacts", "Verdict", "Verdicts", "get_consent", "judge", "read_request"]

#: Where the resolved ``Consent`` lives in the scope the app gets (``get_consent`` reads it).
SCOPE_KEY: Final = "cookiegate"
#: Distinct (Cookie header, GPC, minor) verdicts kept; one per visitor and page-view state.
VERDICT_CACHE_SIZE: Final = 8192
VerdictKey = bytes | tuple[bytes, bool, bool]
#: Longer headers are judged every time: caching them would let a few big headers fill memory.
VERDICT_HEADER_LIMIT: Final = 4096
#: Distinct cookie names whose category is remembered (random names cost a classification each).
CATEGORY_CACHE_SIZE: Final = 4096
_time = time.time  # not Final: tests move the clock through this name


def verdict_key(cookie_header: bytes, gpc: bool, minor: bool) -> VerdictKey:
    """A verdict-cache key: the header alone for a visitor without GPC who is not a minor (nearly all: no
    tuple to build and hash per request), else the header with both flags. The two kinds never compare equal.
    """
    return (cookie_header, gpc, minor) if gpc or minor else cookie_header


#: A judged verdict and its blocked names as raw bytes, stored per header shape.
_Shape = tuple[Verdict, frozenset[bytes]]
#: A verdict kept by steady form, and its ``kept`` cut around the volatile values when it carries them (another
#: header of that form gets them back with its own values); None: the verdict serves as it is.
_Steady = tuple[Verdict, list[bytes] | None]


class Verdicts:
    """The gate's request-side decisions with their bounded caches (one instance per ``CookieGate``)."""

    __slots__ = (
        "_category_cache",
        "_shape_cache",
        "_shapes",
        "_steadies",
        "_steady_cache",
        "_verdict_cache",
        "_verdicts",
        "categories",
        "category_of",
        "child_directed",
        "codec",
        "default",
        "enforce",
        "marketing",
        "minor_hook",
        "policy",
    )  # fmt: skip

    def __init__(
        self,
        policy: Policy,
        codec: ConsentCodec,
        default: Consent,
        *,
        enforce: bool = True,
        minor_hook: MinorHook | None = None,
        child_directed: bool = False,
        marketing: MarketingParams | None = None,
    ) -> None:
        self.policy = policy
        self.enforce = enforce  # False: report-only mode, the app keeps every cookie the browser sent
        self.codec = codec
        self.default = default
        #: Who is a child: the whole site (child-directed), or the app's hook per request.
        self.minor_hook = minor_hook
        self.child_directed = child_directed
        self.marketing = marketing or MarketingParams(policy.marketing_params)
        # Bounded by dropping the oldest entry, never by clearing: memory stays flat under a stream of new
        # visitors (issue #11). Reads go to the plain dicts.
        self._verdict_cache: FifoCache[VerdictKey, Verdict] = FifoCache(VERDICT_CACHE_SIZE)
        self._verdicts = self._verdict_cache.entries
        self._shape_cache: FifoCache[tuple[tuple[bytes, ...], tuple[bytes, ...], bool, bool], _Shape] = FifoCache(
            VERDICT_CACHE_SIZE
        )
        self._shapes = self._shape_cache.entries
        #: Verdicts by header without its volatile values (a GA4 hit counter): ``_remember_steady``.
        self._steady_cache: FifoCache[VerdictKey, _Steady] = FifoCache(VERDICT_CACHE_SIZE)
        self._steadies = self._steady_cache.entries
        self._category_cache: FifoCache[bytes, Category] = FifoCache(CATEGORY_CACHE_SIZE)
        #: Raw cookie name -> category, bounded; the response rewrite reads it directly.
        self.categories = self._category_cache.entries
        #: ``category`` bound once: the response rewrite takes it per response, and binding it there each time
        #: cost an attribute lookup and a method object.
        self.category_of = self.category

    def category(self, name: bytes) -> Category:
        """The policy category of a raw cookie name, through a bytes-keyed cache (no decoding on a hit)."""
        category = self.categories.get(name)
        if category is None:
            category = self.policy.classify(name.decode("latin-1"))
            self._category_cache.put(name, category)  # bounded: random names cost a classification each
        return category

    def verdict(self, cookie_header: bytes, gpc: bool, minor: bool) -> Verdict:
        """``judge`` through three cache levels; a cached verdict is dropped once its consent has expired.

        A GA4 ``_ga_<id>`` cookie changes value on every page view (it carries a hit counter), so a visitor's
        exact header rarely repeats. First the exact header; then the header without its volatile values
        (a few ``find`` calls instead of a parse): the same verdict, its ``kept`` given this header's own
        values where it carries any (``_remember_steady``); then its *shape*: the cookie names in order plus
        the consent cookie's value, which is all a verdict depends on.
        """
        key = verdict_key(cookie_header, gpc, minor)
        verdict = self._verdicts.get(key)
        now = _time()
        if verdict is not None and now <= verdict.expires_at:
            return verdict
        cacheable = len(cookie_header) <= VERDICT_HEADER_LIMIT
        cut = cut_volatile_values(cookie_header) if cacheable else None
        steady_key: VerdictKey | None = None
        values: list[bytes] = []
        if cut is not None:
            steady_key = verdict_key(b"".join(cut[0]), gpc, minor)
            values = cut[1]
            steady = self._steadies.get(steady_key)
            if steady is not None and now <= steady[0].expires_at:
                known, kept_pieces = steady
                verdict = known
                if kept_pieces is not None:
                    kept = with_volatile_values(kept_pieces, values)
                    verdict = Verdict(known.consent, known.blocked, kept, known.expires_at)
                self._verdict_cache.put(key, verdict)
                return verdict
        verdict = self._judge(cookie_header, gpc, minor, now, cacheable)
        if cacheable:
            self._verdict_cache.put(key, verdict)  # bounded: a flood of distinct headers costs a parse each
            if steady_key is not None:
                self._remember_steady(steady_key, verdict, values)
        return verdict

    def _remember_steady(self, steady_key: VerdictKey, verdict: Verdict, values: list[bytes]) -> None:
        """Keep ``verdict`` for every header that differs from this one only in its volatile ``values``.

        Such a header means the same, and the app gets the same header too, with that header's own values:
        the one sent (nothing blocked or dropped), one without any volatile pair, or this
        ``kept`` with the values put back, when it carries every volatile value of the header, in order.
        """
        kept = verdict.kept
        if kept is None or kept.find(VOLATILE_PREFIX) == -1:
            self._steady_cache.put(steady_key, (verdict, None))
            return
        kept_cut = cut_volatile_values(kept)
        if kept_cut is not None and kept_cut[1] == values:
            self._steady_cache.put(steady_key, (verdict, kept_cut[0]))

    def _judge(self, cookie_header: bytes, gpc: bool, minor: bool, now: float, cacheable: bool) -> Verdict:
        """``judge`` behind the shape cache: the cookie names in order and the consent cookie's value."""
        parsed = parse_cookie_header(cookie_header)
        pairs = parsed.pairs
        shape_key = (
            tuple([name for name, _ in pairs]),
            tuple([pair for name, pair in pairs if name == CONSENT_COOKIE_BYTES]),
            gpc,
            minor,
        )
        shape = self._shapes.get(shape_key)
        if shape is not None and now <= shape[0].expires_at:
            known, blocked_names = shape
            verdict = known
            if known.blocked or parsed.dropped:
                kept = b"; ".join([pair for name, pair in pairs if name not in blocked_names])
                verdict = Verdict(known.consent, known.blocked, kept, known.expires_at)
        else:
            verdict = judge(
                cookie_header,
                gpc=gpc,
                minor=minor,
                category_of=self.category,
                decode=self.codec.decode,
                default=self.default,
                expires_at=self.codec.expires_at,
                pairs=parsed,
            )
            # The shape keeps no ``kept``: that is this header's own values, which a hit rebuilds from its own
            # pairs. Stored, it went to the app of the next header of the same names whenever nothing was
            # blocked but a malformed pair was dropped: one visitor's session cookie handed to another.
            shape = (replace(verdict, kept=None), frozenset(name.encode("latin-1") for name in verdict.blocked))
            if cacheable:
                self._shape_cache.put(shape_key, shape)
        return verdict

    def resolve(self, scope: dict[str, Any], facts: RequestFacts) -> Verdict:
        """Judge a request (HTTP or WebSocket handshake) and edit ``scope`` in place to what the app may see.

        ``facts`` receives what the request headers said. In place, as Starlette's own ``SessionMiddleware``
        sets ``scope["session"]``: the server built this scope for this request alone, and a copy costs more
        than the whole lookup. Only a blocked or malformed cookie replaces the header list; only a minor's URL
        and Referer change.
        """
        read_request(scope["headers"], facts)
        hook = self.minor_hook
        minor = self.child_directed or (hook is not None and flagged_by_app(hook, scope))
        verdict = self._verdicts.get(verdict_key(facts.cookie, facts.gpc, minor))
        if verdict is None or _time() > verdict.expires_at:
            verdict = self.verdict(facts.cookie, facts.gpc, minor)
        consent = verdict.consent
        scope[SCOPE_KEY] = consent
        if verdict.kept is not None and self.enforce:  # report-only mode hands the app its header as sent
            headers = without_cookie_headers(scope["headers"])
            if verdict.kept:
                headers.append((b"cookie", verdict.kept))
            scope["headers"] = headers
        if consent.minor:
            self.marketing.strip_scope(scope, facts.referer)
        return verdict


def get_consent(scope: Scope) -> Consent:
    """The consent the gate resolved for this request (``request.scope`` works too).

    Raises LookupError when the app is not behind a ``CookieGate``: silently assuming consent would be the
    unsafe default.
    """
    consent = scope.get(SCOPE_KEY)
    if not isinstance(consent, Consent):
        raise LookupError("no consent in scope: is the app wrapped in CookieGate?")
    return consent

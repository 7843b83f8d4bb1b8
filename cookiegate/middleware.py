"""``CookieGate``: the pure ASGI middleware that enforces cookie consent on every request and response.

Thin dispatch: HTTP requests and WebSocket handshakes resolve through ``Verdicts`` (verdict.py), their
responses go through one send wrapper (exchange.py: ``rewrite_head`` from response.py, banner injection from
banner.py, one access-log record each), the lifespan starts and stops the services. Everything configurable
is resolved in ``__init__`` (no I/O there); nothing per request is stored on ``self``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Unpack

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cookiegate.api import ConsentAPI
from cookiegate.banner import Banner
from cookiegate.consent import no_consent
from cookiegate.consent_cookie import ConsentCodec
from cookiegate.cookies import cookie_pairs
from cookiegate.exchange import Exchange
from cookiegate.forwarding import warn_if_server_trusts_more
from cookiegate.handshake import Handshake
from cookiegate.minors import MarketingParams
from cookiegate.policy import Policy
from cookiegate.services import Services, open_services
from cookiegate.set_cookies import expiry_headers
from cookiegate.settings import GateOptions, GateSettings
from cookiegate.useragents import warm as warm_user_agents
from cookiegate.verdict import SCOPE_KEY, Verdicts, get_consent

__all__ = ["SCOPE_KEY", "CookieGate", "GateSettings", "get_consent"]


class CookieGate:
    """Consent-aware pure ASGI middleware.

    ``CookieGate(app, secret_keys=[...])`` works with nothing else given: the default policy, the consent
    API under ``/_cookiegate`` and the access log and consent ledger as SQLite files in ``./cookiegate-data``.
    In Starlette/FastAPI: ``app.add_middleware(CookieGate, secret_keys=[...])``. Options come as keyword
    arguments (``access_log=False``) or as ``settings=GateSettings(...)``; see ``GateSettings``.
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_keys: Sequence[str | bytes],
        policy: Policy | None = None,
        *,
        settings: GateSettings | None = None,
        services: Services | None = None,
        **options: Unpack[GateOptions],
    ) -> None:
        self.settings = config = GateSettings.build(settings, options)
        self.app = app
        self.policy = policy = policy or Policy.default()
        self.codec = ConsentCodec(
            secret_keys, version=policy.version, max_age_seconds=policy.consent_max_age_days * 86_400
        )
        self.prefix = config.prefix
        self.enforce = enforce = config.mode == "enforce"
        self.expire_blocked = config.expire_blocked and enforce
        self.banner = Banner(config.prefix, enabled=config.inject_banner, policy=policy)
        self.child_directed = policy.child_directed if config.child_directed is None else config.child_directed
        self.marketing = MarketingParams(
            policy.marketing_params if config.marketing_params is None else config.marketing_params
        )
        self.verdicts = Verdicts(
            policy,
            self.codec,
            no_consent(policy.version),
            enforce=enforce,
            minor_hook=config.is_minor,
            child_directed=self.child_directed,
            marketing=self.marketing,
        )
        self.services = services or open_services(
            data_dir=Path(config.data_dir),
            access_log_url=config.access_log_url,
            ledger_url=config.ledger_url,
            aggregates_url=config.aggregates_url,
            access_log=config.access_log,
            retention_months=config.retention_months,
            trusted_proxies=config.trusted_proxies,
        )
        # Read on every request: native attributes here, not a generic attribute lookup on ``Services`` each
        # time (each is a probe of CPython's type-attribute cache, and a collision there costs ~300 more).
        self.access_log = self.services.access_log
        self.leaks = self.services.leaks
        self.api = ConsentAPI(
            policy=policy,
            codec=self.codec,
            prefix=config.prefix,
            services=self.services,
            cookie_domains=config.cookie_domains,
            enforce=self.enforce,
        )
        domains = config.cookie_domains

        # The same few leaked names recur on every page view: build their deletion headers once.
        @lru_cache(maxsize=1024)
        def expiries(names: tuple[str, ...], secure: bool) -> tuple[tuple[bytes, bytes], ...]:
            return tuple(expiry_headers(names, domains, secure))

        self.expiries = expiries
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not isinstance(scope, dict):
            scope = dict(scope)  # ASGI scopes are dicts; typed as one, the gate's every read is a C dict read
        if scope["type"] != "http":
            await self._not_http(scope, receive, send)
            return
        exchange = Exchange(self, scope, receive, send)
        if self.access_log is not None:
            # Watched for ``http.disconnect``, which only the access record's outcome tells; without an access
            # log the app gets the server's own ``receive`` (binding the wrapper costs ~300 instructions).
            receive = exchange.receive
        try:
            if exchange.is_api:
                sent_names = [name.decode("latin-1") for name, _ in cookie_pairs(exchange.cookie)]
                await self.api(scope, receive, exchange.send, sent_names)
            else:
                await self.app(scope, receive, exchange.send)
        except BaseException as error:
            exchange.failed(error)
            raise
        if not exchange.logged:
            exchange.returned()

    async def _not_http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "websocket":
            # A handshake carries cookies too: resolved like HTTP, its response headers gated like HTTP's.
            handshake = Handshake(self, scope, receive, send)
            try:
                await self.app(scope, receive, handshake.send)
            finally:
                handshake.finish()
        elif scope_type == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def start_services(self) -> None:
        self.started = True
        self.services.start()
        if not self.enforce:  # said at every start, so a forgotten report-only rollout shows in the logs
            logging.getLogger("cookiegate").warning(
                "cookiegate is in report-only mode: no cookie is blocked; would-be blocks are counted "
                "(cookiegate report). Switch to mode='enforce' when the counts look right."
            )
        # Compiling the User-Agent matchers takes ~0.5 s: off the event loop, before a crawler asks.
        threading.Thread(target=warm_user_agents, name="cookiegate-ua-warm", daemon=True).start()
        # Called from inside the server's call chain (lifespan or first request), where its settings show.
        warn_if_server_trusts_more(self.settings.trusted_proxies)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Start the log writer and purge timer with the app, and drain them when it stops."""

        async def receive_lifespan() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and not self.started:
                self.start_services()
            return message

        async def send_lifespan(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self.stop_services()
            await send(message)

        try:
            await self.app(scope, receive_lifespan, send_lifespan)
        finally:
            self.stop_services()

    def stop_services(self) -> None:
        """Drain and stop what ``start_services`` started (the lifespan's shutdown; tests without one)."""
        if self.started:
            self.started = False
            self.services.stop()

"""Recording a visitor's choice: ``POST`` and ``DELETE {prefix}/consent``.

Each change is appended to the consent ledger (proof of consent, 개인정보 보호법 제22조), sets the signed
consent cookie, and expires at once the cookies of categories the visitor no longer grants: withdrawal
as easy as consent (제37조).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cookiegate.api.choices import Choice, parse_choice
from cookiegate.api.errors import json_response
from cookiegate.api.intake import read_body
from cookiegate.api.language import choose_locale
from cookiegate.consent import (
    CONSENT_COOKIE,
    Consent,
    ConsentCodec,
    ConsentMethod,
    consent_set_cookie,
    narrowed,
    new_consent,
)
from cookiegate.guardian import child_choice
from cookiegate.policy import CATEGORIES, Policy
from cookiegate.policy_archive import PolicyVersions
from cookiegate.services import Services
from cookiegate.set_cookies import expiry_headers


class ConsentChanges:
    """Turns a validated choice into a consent, records it, and answers with the cookie and what to clear."""

    def __init__(
        self,
        *,
        policy: Policy,
        codec: ConsentCodec,
        services: Services,
        versions: PolicyVersions,
        cookie_domains: Sequence[str],
        enforce: bool,
        max_age: int,
    ) -> None:
        self.policy = policy
        self.codec = codec
        self.services = services
        self.versions = versions
        self.cookie_domains = tuple(cookie_domains)
        self.enforce = enforce  # False: report-only mode, a refusal expires no cookie
        self.max_age = max_age

    async def give(self, request: Request, current: Consent, sent_cookies: tuple[str, ...]) -> Response:
        """``POST``: the banner's JSON (answered with JSON) or the no-script form (answered with a 303)."""
        choice = parse_choice(request.headers.get("content-type", ""), await read_body(request))
        consent = self._consent_for(choice, current)
        # A visitor whose earlier choice was to another version of the policy (or expired) is renewing it.
        method: ConsentMethod = "policy-renewal" if current.renewal else choice.method
        locale = choice.locale or choose_locale(request.headers.get("accept-language", ""))
        if not self.versions.archived:
            # The text agreed to must stay readable later ("이전 버전 보기"): archive it before the first record.
            await anyio.to_thread.run_sync(self.versions.ensure)
        self._record(request, consent, method, locale)
        if choice.return_to is not None:
            response: Response = RedirectResponse(choice.return_to, status_code=303)
            self._set_consent_cookie(request, response, consent, sent_cookies)
            return response
        return self._answer(request, consent, sent_cookies, choice.browser_cookies)

    def withdraw(self, request: Request, current: Consent, sent_cookies: tuple[str, ...]) -> Response:
        """``DELETE``: withdrawal as easy as consent (개인정보 보호법 제37조): one call, cookies expired at once."""
        consent = new_consent((), version=self.policy.version, under14=current.under14, consent_id=current.consent_id)
        consent = replace(consent, gpc=current.gpc, minor=current.minor)
        locale = choose_locale(request.headers.get("accept-language", ""))
        self._record(request, consent, "withdrawal", locale)
        return self._answer(request, consent, sent_cookies, ())

    def _consent_for(self, choice: Choice, current: Consent) -> Consent:
        """The consent a choice yields once GPC, age and a guardian's grant have narrowed it."""
        minor = choice.under14 or current.minor
        granted = choice.granted
        if minor:
            # 제22조의2①: a child's own click grants nothing beyond what a guardian allowed (guardian.py).
            allowed = child_choice(current, granted)
            granted = tuple(c for c in CATEGORIES if c in allowed)
        guardian = current.guardian_method is not None
        consent = new_consent(
            narrowed(granted, gpc=current.gpc, minor=minor, guardian=guardian),
            version=self.policy.version,
            under14=choice.under14 or current.under14,
            consent_id=current.consent_id,
        )
        consent = replace(consent, gpc=current.gpc, minor=minor)
        if minor and guardian:
            consent = replace(consent, guardian_method=current.guardian_method, guardian_at=current.guardian_at)
        return consent

    def _answer(
        self, request: Request, consent: Consent, sent_cookies: tuple[str, ...], browser_cookies: tuple[str, ...]
    ) -> Response:
        """The JSON answer to a consent change; ``expired`` tells the banner which names to clear too.

        The server's Set-Cookie only reaches cookies of this host and path; the banner can also clear those
        a script set for a parent domain or another path, if it knows which names are now refused.
        """
        response = json_response({})
        withdrawn = self._set_consent_cookie(request, response, consent, sent_cookies)
        expired = list(dict.fromkeys([*withdrawn, *self._refused(browser_cookies, consent)]))
        response.body = orjson.dumps({"consent": consent.as_public_dict(), "expired": expired})
        response.headers["content-length"] = str(len(response.body))
        return response

    def _record(self, request: Request, consent: Consent, method: ConsentMethod, locale: str) -> None:
        ledger = self.services.ledger
        if ledger is not None:
            peer, port = request.client if request.client else (None, None)
            # Behind a trusted proxy the visitor is in X-Forwarded-For; the ledger truncates it (/24, /48).
            client, _ = self.services.proxies.client(
                peer, port, request.headers.get("x-forwarded-for"), request.headers.get("forwarded")
            )
            ledger.record(consent, method=method, locale=locale, client_ip=client)

    def _set_consent_cookie(
        self, request: Request, response: Response, consent: Consent, sent_cookies: tuple[str, ...]
    ) -> list[str]:
        """Set the signed cookie and expire what the browser sent of categories no longer granted."""
        secure = request.scope.get("scheme") == "https"
        # The one writer of the consent cookie's attributes (the gate's signed states and the guardian endpoint
        # use it too); Starlette's ``set_cookie`` would format the same header through ``http.cookies`` at ~7 µs.
        response.raw_headers.append(
            (b"set-cookie", consent_set_cookie(self.codec, consent, max_age=self.max_age, secure=secure))
        )
        withdrawn = self._refused(sent_cookies, consent)
        response.raw_headers.extend(expiry_headers(withdrawn, self.cookie_domains, secure))  # already bytes
        return withdrawn

    def _refused(self, names: Iterable[str], consent: Consent) -> list[str]:
        """The names among ``names`` whose category ``consent`` does not grant (none in report-only mode)."""
        if not self.enforce:
            return []
        classify = self.policy.classify
        return [n for n in names if n != CONSENT_COOKIE and classify(n) not in consent.granted]

"""Recording a visitor's choice: ``POST`` and ``DELETE {prefix}/consent``.

Each change is appended to the consent ledger (proof of consent, 개인정보 보호법 제22조), sets the signed
consent cookie, and expires at once the cookies of categories the visitor no longer grants: withdrawal
as easy as consent (제37조).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cookiegate.api.choices import Choice, parse_choice
from cookiegate.api.errors import json_response
from cookiegate.api.intake import read_body
from cookiegate.api.language import choose_locale
from cookiegate.consent import CONSENT_COOKIE, Consent, ConsentMethod, narrowed, new_consent
from cookiegate.consent_cookie import ConsentCodec, consent_set_cookie
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

    async def give(
        self, request: Request, headers: Mapping[str, str], current: Consent, sent_cookies: tuple[str, ...]
    ) -> Response:
        """``POST``: the banner's JSON (answered with JSON) or the no-script form (answered with a 303).

        ``headers``: the request's, read once (``intake.header_fields``).
        """
        choice = parse_choice(headers.get("content-type", ""), await read_body(request.receive, headers))
        consent = self._consent_for(choice, current)
        # A visitor whose earlier choice was to another version of the policy (or expired) is renewing it.
        method: ConsentMethod = "policy-renewal" if current.renewal else choice.method
        locale = choice.locale or choose_locale(headers.get("accept-language", ""))
        if not self.versions.archived:
            # The text agreed to must stay readable later ("이전 버전 보기"): archive it before the first record.
            await anyio.to_thread.run_sync(self.versions.ensure)
        self._record(request, headers, consent, method, locale)
        if choice.return_to is not None:
            response: Response = RedirectResponse(choice.return_to, status_code=303)
            response.raw_headers.extend(self._cookie_headers(request, consent, sent_cookies)[0])
            return response
        return self._answer(request, consent, sent_cookies, choice.browser_cookies)

    def withdraw(
        self, request: Request, headers: Mapping[str, str], current: Consent, sent_cookies: tuple[str, ...]
    ) -> Response:
        """``DELETE``: withdrawal as easy as consent (개인정보 보호법 제37조): one call, cookies expired at once."""
        consent = new_consent(
            (),
            version=self.policy.version,
            under14=current.under14,
            consent_id=current.consent_id,
            gpc=current.gpc,
            minor=current.minor,
        )
        locale = choose_locale(headers.get("accept-language", ""))
        self._record(request, headers, consent, "withdrawal", locale)
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
        kept_guardian = minor and guardian
        return new_consent(
            narrowed(granted, gpc=current.gpc, minor=minor, guardian=guardian),
            version=self.policy.version,
            under14=choice.under14 or current.under14,
            consent_id=current.consent_id,
            gpc=current.gpc,
            minor=minor,
            guardian_method=current.guardian_method if kept_guardian else None,
            guardian_at=current.guardian_at if kept_guardian else 0,
        )

    def _answer(
        self, request: Request, consent: Consent, sent_cookies: tuple[str, ...], browser_cookies: tuple[str, ...]
    ) -> Response:
        """The JSON answer to a consent change; ``expired`` tells the banner which names to clear too.

        The server's Set-Cookie only reaches cookies of this host and path; the banner can also clear those
        a script set for a parent domain or another path, if it knows which names are now refused.
        """
        cookies, withdrawn = self._cookie_headers(request, consent, sent_cookies)
        expired = list(dict.fromkeys([*withdrawn, *self._refused(browser_cookies, consent)]))
        response = json_response({"consent": consent.as_public_dict(), "expired": expired})
        response.raw_headers.extend(cookies)
        return response

    def _record(
        self, request: Request, headers: Mapping[str, str], consent: Consent, method: ConsentMethod, locale: str
    ) -> None:
        ledger = self.services.ledger
        if ledger is not None:
            peer_address = request.scope.get("client")
            peer, port = peer_address if peer_address else (None, None)
            # Behind a trusted proxy the visitor is in X-Forwarded-For; the ledger truncates it (/24, /48).
            client, _ = self.services.proxies.client(
                peer, port, headers.get("x-forwarded-for"), headers.get("forwarded")
            )
            ledger.record(consent, method=method, locale=locale, client_ip=client)

    def _cookie_headers(
        self, request: Request, consent: Consent, sent_cookies: tuple[str, ...]
    ) -> tuple[list[tuple[bytes, bytes]], list[str]]:
        """Set-Cookie for the signed cookie and for expiring what the browser sent of categories no longer granted.

        Returns the headers and the expired names.
        """
        secure = request.scope.get("scheme") == "https"
        # The one writer of the consent cookie's attributes (the gate's signed states and the guardian endpoint
        # use it too); Starlette's ``set_cookie`` would format the same header through ``http.cookies`` at ~7 µs.
        headers = [(b"set-cookie", consent_set_cookie(self.codec, consent, max_age=self.max_age, secure=secure))]
        withdrawn = self._refused(sent_cookies, consent)
        headers.extend(expiry_headers(withdrawn, self.cookie_domains, secure))  # already bytes
        return headers, withdrawn

    def _refused(self, names: Iterable[str], consent: Consent) -> list[str]:
        """The names among ``names`` whose category ``consent`` does not grant (none in report-only mode)."""
        if not self.enforce:
            return []
        classify = self.policy.classify
        return [n for n in names if n != CONSENT_COOKIE and classify(n) not in consent.granted]

"""``ConsentAPI``: the gate's own small app under the prefix, and which handler answers which path.

Starlette's Request/Response, but compiled with the hot path (``hatch_build.py``): a consent change is
rare, so its code is cold every time it runs, and interpreted it cost more than its share. Every bad input
gets a 4xx JSON error that names the problem (``errors.py``); nothing a visitor sends can produce a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final, NamedTuple

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from cookiegate.api.changes import ConsentChanges
from cookiegate.api.errors import APIError, allow, json_response
from cookiegate.api.history import current_consent, my_data
from cookiegate.api.intake import header_fields, read_body, refuse_cross_site
from cookiegate.api.language import choose_locale
from cookiegate.consent import Consent
from cookiegate.consent_cookie import ConsentCodec
from cookiegate.guardian import GuardianConsents, GuardianRequestError
from cookiegate.policy import Policy
from cookiegate.policy_archive import PolicyArchive, PolicyVersions
from cookiegate.services import Services
from cookiegate.static import banner_asset

#: A handler gets the request, the visitor's consent, the cookie names the browser sent, and the rest
#: of the path after a prefix route ("" for an exact route).
Handler = Callable[[Request, Consent, tuple[str, ...], str], Awaitable[Response]]
_READ: Final = ("GET", "HEAD")


class _Route(NamedTuple):
    methods: tuple[str, ...]
    handler: Handler


class ConsentAPI:
    """Routes under the prefix; the middleware calls it with the scope it already resolved."""

    def __init__(
        self,
        *,
        policy: Policy,
        codec: ConsentCodec,
        prefix: str,
        services: Services,
        cookie_domains: Sequence[str],
        enforce: bool = True,
    ) -> None:
        self.policy = policy
        self.prefix = prefix
        self.max_age = policy.consent_max_age_days * 86_400  # the consent cookie's lifetime, in seconds
        self.services = services
        archive = None if services.data_dir is None else PolicyArchive(services.data_dir / "policy-archive")
        self.versions = PolicyVersions(policy, archive)
        hashes = getattr(services.ledger, "policy_hashes", None)
        if isinstance(hashes, dict):
            hashes[policy.version] = self.versions.sha256  # the ledger stores the hash of the text agreed to
        self.changes = ConsentChanges(policy=policy, codec=codec, services=services, versions=self.versions,
                                      cookie_domains=cookie_domains, enforce=enforce, max_age=self.max_age)  # fmt: skip
        self.guardian = GuardianConsents(codec, version=policy.version, max_age_seconds=self.max_age,
                                         ledger=services.ledger)  # fmt: skip
        self._exact: dict[str, _Route] = {
            "/policy": _Route(_READ, self._policy),
            "/consent": _Route((*_READ, "POST", "DELETE"), self._consent),
            "/policy/versions": _Route(_READ, self._versions),
            "/my-data": _Route(_READ, self._my_data),
            "/guardian": _Route(("POST",), self._guardian),
        }
        self._prefixed: tuple[tuple[str, _Route], ...] = (
            ("/policy/versions/", _Route(_READ, self._versions)),
            ("/static/", _Route(_READ, self._static)),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send, sent_cookies: Iterable[str] = ()) -> None:
        request = Request(scope, receive)
        try:
            # scope["path"], not request.url: a Host header such as "[" makes building the URL raise.
            route, rest = self._find(scope["path"][len(self.prefix) :])
            allow(request.method, route.methods)
            response = await route.handler(request, scope["cookiegate"], tuple(sent_cookies), rest)
        except APIError as error:
            response = error.response()
        if not any(name == b"cache-control" for name, _ in response.raw_headers):
            response.raw_headers.append((b"cache-control", b"no-store"))  # without MutableHeaders' copy and scan
        await response(scope, receive, send)

    def _find(self, path: str) -> tuple[_Route, str]:
        route = self._exact.get(path)
        if route is not None:
            return route, ""
        for prefix, prefixed in self._prefixed:
            if path.startswith(prefix):
                return prefixed, path[len(prefix) :]
        raise APIError(404, "not_found", f"no route {path or '/'} under {self.prefix}")

    async def _policy(self, request: Request, consent: Consent, sent: tuple[str, ...], rest: str) -> Response:
        locale = choose_locale(request.headers.get("accept-language", ""), request.query_params.get("locale"))
        document = self.policy.public_document(locale)
        document["consent"] = consent.as_public_dict()
        return json_response(document, headers={"vary": "Accept-Language, Cookie", "content-language": locale})

    async def _consent(self, request: Request, consent: Consent, sent: tuple[str, ...], rest: str) -> Response:
        if request.method in _READ:
            return await current_consent(self.services.ledger, consent)
        headers = header_fields(request.scope)
        refuse_cross_site(headers)
        if request.method == "DELETE":
            return self.changes.withdraw(request, headers, consent, sent)
        return await self.changes.give(request, headers, consent, sent)

    async def _versions(self, request: Request, consent: Consent, sent: tuple[str, ...], rest: str) -> Response:
        # Earlier versions, read-only ("이전 버전 보기"): what each visitor agreed to stays readable.
        wanted = rest or None
        found = await anyio.to_thread.run_sync(self.versions.answer, wanted)
        if found is None:
            raise APIError(404, "not_found", f"no archived policy version {wanted!r}")
        return json_response(found)

    async def _my_data(self, request: Request, consent: Consent, sent: tuple[str, ...], rest: str) -> Response:
        # The visitor's own record and how to exercise 제35조~제37조 rights.
        return await my_data(request, self.services.ledger, consent, self.policy)

    async def _guardian(self, request: Request, consent: Consent, sent: tuple[str, ...], rest: str) -> Response:
        # The site's server, after its own guardian check (개인정보 보호법 제22조의2, 시행령 제17조의2).
        try:
            headers = header_fields(request.scope)
            body = await read_body(request.receive, headers)
            return json_response(self.guardian.handle(headers, body))
        except GuardianRequestError as error:
            raise APIError(error.status, error.code, str(error)) from error

    async def _static(self, request: Request, consent: Consent, sent: tuple[str, ...], rest: str) -> Response:
        path = banner_asset(rest)
        if path is None:
            raise APIError(404, "not_found", "no such banner file")
        return FileResponse(path, headers={"cache-control": "public, max-age=3600"})

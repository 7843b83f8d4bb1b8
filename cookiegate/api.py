"""The gate's own small app under the prefix: policy JSON, the consent API and the banner's files.

Off the hot path, so it uses Starlette's Request/Response. Every bad input gets a 4xx JSON error that
names the problem; nothing a visitor sends can produce a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
import orjson
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from cookiegate.consent import (
    CONSENT_COOKIE,
    Consent,
    ConsentCodec,
    ConsentMethod,
    narrowed,
    new_consent,
)
from cookiegate.cookies import expiry_headers
from cookiegate.guardian import GuardianConsents, GuardianRequestError, child_choice
from cookiegate.mydata import my_data_page
from cookiegate.policy import CATEGORIES, Category, Policy
from cookiegate.policy_archive import PolicyArchive, PolicyVersions
from cookiegate.services import Services
from cookiegate.static import banner_asset

logger = logging.getLogger("cookiegate")

MAX_BODY_BYTES: Final = 16 * 1024
HISTORY_TIMEOUT_S: Final = 2.0
Locale = Literal["ko", "en"]
_CLIENT_METHODS: Final[frozenset[str]] = frozenset(("banner", "api"))


class APIError(Exception):
    """A client error answered as JSON ``{"error": code, "detail": text}`` with ``status``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def response(self) -> Response:
        return JSONResponse({"error": self.code, "detail": self.detail}, status_code=self.status)


def choose_locale(accept_language: str, explicit: str | None = None) -> Locale:
    """ko or en: an explicit ``?locale=`` first, then the best of ``Accept-Language`` by q-value.

    Korean-first: no header means Korean; a header naming neither language means English, the
    better guess for a visitor whose browser asks for, say, French.
    """
    if explicit in ("ko", "en"):
        return explicit  # type: ignore[return-value]
    best: tuple[float, Locale] | None = None
    for item in accept_language.split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        language = tag.strip().lower().split("-", 1)[0]
        if language not in ("ko", "en"):
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if best is None or quality > best[0]:
            best = (quality, language)  # type: ignore[assignment]
    if best is not None and best[0] > 0:
        return best[1]
    return "en" if accept_language.strip() else "ko"


def safe_return_path(value: str) -> str:
    """A same-site path to redirect to after a form post; anything else becomes ``/`` (no open redirect)."""
    if value.startswith("/") and not value.startswith(("//", "/\\")) and "\\" not in value and value.isprintable():
        return value
    return "/"


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
        self.enforce = enforce  # False: report-only mode, a refusal expires no cookie
        self.codec = codec
        self.prefix = prefix
        self.services = services
        self.cookie_domains = tuple(cookie_domains)
        self.max_age = policy.consent_max_age_days * 86_400
        archive = None if services.data_dir is None else PolicyArchive(services.data_dir / "policy-archive")
        self.versions = PolicyVersions(policy, archive)
        hashes = getattr(services.ledger, "policy_hashes", None)
        if isinstance(hashes, dict):
            hashes[policy.version] = self.versions.sha256  # the ledger stores the hash of the text agreed to
        self.guardian = GuardianConsents(codec, version=policy.version, max_age_seconds=self.max_age,
                                         ledger=services.ledger)  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send, sent_cookies: Iterable[str] = ()) -> None:
        request = Request(scope, receive)
        try:
            response = await self._route(request, scope["cookiegate"], tuple(sent_cookies))
        except APIError as error:
            response = error.response()
        response.headers["cache-control"] = response.headers.get("cache-control", "no-store")
        await response(scope, receive, send)

    async def _route(self, request: Request, consent: Consent, sent_cookies: tuple[str, ...]) -> Response:
        # scope["path"], not request.url: a Host header such as "[" makes building the URL raise.
        route = request.scope["path"][len(self.prefix) :]
        method = request.method
        if route == "/policy":
            _allow(method, ("GET", "HEAD"))
            return self._policy(request, consent)
        if route == "/consent":
            _allow(method, ("GET", "HEAD", "POST", "DELETE"))
            if method in ("GET", "HEAD"):
                return await self._current(consent)
            _refuse_cross_site(request.headers)
            if method == "DELETE":
                return self._withdraw(request, consent, sent_cookies)
            return await self._give(request, consent, sent_cookies)
        if route == "/policy/versions" or route.startswith("/policy/versions/"):
            # Earlier versions, read-only ("이전 버전 보기"): what each visitor agreed to stays readable.
            _allow(method, ("GET", "HEAD"))
            wanted = route[len("/policy/versions/") :] or None if route != "/policy/versions" else None
            found = await anyio.to_thread.run_sync(self.versions.answer, wanted)
            if found is None:
                raise APIError(404, "not_found", f"no archived policy version {wanted!r}")
            return _json(found)
        if route == "/my-data":
            # The visitor's own record and how to exercise 제35조~제37조 rights.
            _allow(method, ("GET", "HEAD"))
            locale = choose_locale(request.headers.get("accept-language", ""), request.query_params.get("locale"))
            page = my_data_page(consent, await self._history(consent), self.policy, locale)
            return HTMLResponse(page, headers={"vary": "Accept-Language, Cookie", "content-language": locale})
        if route == "/guardian":
            # The site's server, after its own guardian check (개인정보 보호법 제22조의2, 시행령 제17조의2).
            _allow(method, ("POST",))
            try:
                return _json(self.guardian.handle(request.headers, await _read_body(request)))
            except GuardianRequestError as error:
                raise APIError(error.status, error.code, str(error)) from error
        if route.startswith("/static/"):
            _allow(method, ("GET", "HEAD"))
            path = banner_asset(route[len("/static/") :])
            if path is None:
                raise APIError(404, "not_found", "no such banner file")
            return FileResponse(path, headers={"cache-control": "public, max-age=3600"})
        raise APIError(404, "not_found", f"no route {route or '/'} under {self.prefix}")

    def _policy(self, request: Request, consent: Consent) -> Response:
        locale = choose_locale(request.headers.get("accept-language", ""), request.query_params.get("locale"))
        document = self.policy.public_document(locale)
        document["consent"] = consent.as_public_dict()
        return _json(document, headers={"vary": "Accept-Language, Cookie", "content-language": locale})

    async def _current(self, consent: Consent) -> Response:
        return _json({"consent": consent.as_public_dict(), "history": await self._history(consent)})

    async def _history(self, consent: Consent) -> list[dict[str, object]]:
        history: list[dict[str, object]] = []
        ledger = self.services.ledger
        if consent.consent_id and ledger is not None:
            # 열람 right: a visitor may see the record of their own choices (개인정보 보호법 제35조).
            # A store read may wait on a lock: off the event loop, bounded, and a clear 503 when it fails.
            try:
                with anyio.fail_after(HISTORY_TIMEOUT_S):
                    history = await anyio.to_thread.run_sync(ledger.history, consent.consent_id, abandon_on_cancel=True)
            except Exception as exc:  # a timeout, or the store locked, unreadable or down: all mean "try later"
                logger.warning("consent history unavailable", exc_info=True)
                detail = "the consent history cannot be read right now; retry later"
                raise APIError(503, "ledger_unavailable", detail) from exc
        return history

    async def _give(self, request: Request, current: Consent, sent_cookies: tuple[str, ...]) -> Response:
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = await _read_body(request)
        browser_cookies: tuple[str, ...] = ()
        if content_type == "application/json":
            granted, under14, locale, method, return_to, browser_cookies = _parse_json_choice(body)
        elif content_type == "application/x-www-form-urlencoded":
            granted, under14, locale, method, return_to, _ = _parse_form_choice(body)
        else:
            raise APIError(415, "unsupported_media_type", "send application/json or a form post")
        if locale is None:
            locale = choose_locale(request.headers.get("accept-language", ""))
        if under14 or current.minor:
            # 제22조의2①: a child's own click grants nothing beyond what a guardian allowed (guardian.py).
            granted = [c for c in CATEGORIES if c in child_choice(current, granted)]
        if current.consent_id and not current.chosen:
            method = "policy-renewal"  # their earlier consent was to another version of the policy
        consent = new_consent(
            narrowed(
                granted,
                gpc=current.gpc,
                minor=under14 or current.minor,
                guardian=current.guardian_method is not None,
            ),
            version=self.policy.version,
            under14=under14 or current.under14,
            consent_id=current.consent_id,
        )
        consent = replace(consent, gpc=current.gpc, minor=current.minor or under14)
        if consent.minor and current.guardian_method is not None:
            consent = replace(consent, guardian_method=current.guardian_method, guardian_at=current.guardian_at)
        if not self.versions.archived:
            await anyio.to_thread.run_sync(self.versions.ensure)
        self._record(request, consent, method, locale)
        if return_to is not None:
            response: Response = RedirectResponse(safe_return_path(return_to), status_code=303)
            self._set_consent_cookie(request, response, consent, sent_cookies)
            return response
        return self._answer(request, consent, sent_cookies, browser_cookies)

    def _withdraw(self, request: Request, current: Consent, sent_cookies: tuple[str, ...]) -> Response:
        """Withdrawal as easy as consent (개인정보 보호법 제37조): one call, cookies expired at once."""
        consent = new_consent((), version=self.policy.version, under14=current.under14, consent_id=current.consent_id)
        consent = replace(consent, gpc=current.gpc, minor=current.minor)
        locale = choose_locale(request.headers.get("accept-language", ""))
        self._record(request, consent, "withdrawal", locale)
        return self._answer(request, consent, sent_cookies, ())

    def _answer(
        self, request: Request, consent: Consent, sent_cookies: tuple[str, ...], browser_cookies: tuple[str, ...]
    ) -> Response:
        """The JSON answer to a consent change; ``expired`` tells the banner which names to clear too.

        The server's Set-Cookie only reaches cookies of this host and path; the banner can also clear those
        a script set for a parent domain or another path, if it knows which names are now refused.
        """
        response = _json({})
        withdrawn = self._set_consent_cookie(request, response, consent, sent_cookies)
        classify = self.policy.classify
        refused = [n for n in browser_cookies if n != CONSENT_COOKIE and classify(n) not in consent.granted]
        if not self.enforce:
            refused = []
        expired = list(dict.fromkeys([*withdrawn, *refused]))
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
        response.set_cookie(
            CONSENT_COOKIE,
            self.codec.encode(consent),
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        classify = self.policy.classify
        withdrawn = [n for n in sent_cookies if n != CONSENT_COOKIE and classify(n) not in consent.granted]
        if not self.enforce:
            return []
        for name, value in expiry_headers(withdrawn, self.cookie_domains, secure):
            response.headers.append(name.decode(), value.decode("latin-1"))
        return withdrawn


def _allow(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise APIError(405, "method_not_allowed", f"use {', '.join(allowed)}")


def _refuse_cross_site(headers: Headers) -> None:
    """Only the site's own pages may change consent: a forged cross-site POST could "accept all".

    Browsers send ``Sec-Fetch-Site`` and ``Origin`` on POST/DELETE; a request with neither comes from a
    non-browser client, which cannot ride on a visitor's cookies anyway.
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise APIError(403, "cross_site", f"consent can only be changed from this site (Sec-Fetch-Site: {site})")
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        origin_host = origin.split("://", 1)[-1].rstrip("/")
        if origin == "null" or origin_host.lower() != host.lower():
            raise APIError(403, "cross_site", "consent can only be changed from this site (Origin mismatch)")


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    # At most 10 ASCII digits: int() of a 5,000-digit string raises ValueError (Python's digit limit).
    if declared is not None and (
        not declared.isascii() or not declared.isdigit() or len(declared) > 10 or int(declared) > MAX_BODY_BYTES
    ):
        raise APIError(413, "too_large", f"the body may be at most {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise APIError(413, "too_large", f"the body may be at most {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise APIError(400, "disconnected", "the client went away before sending the body") from exc
    return b"".join(chunks)


_Choice = tuple[list[Category], bool, "str | None", ConsentMethod, "str | None", tuple[str, ...]]
_MAX_BROWSER_COOKIES: Final = 200
#: Fields a consent form may carry: the banner's form sends at most eight.
MAX_FORM_FIELDS: Final = 50


def _shown(value: object) -> str:
    """A value for an error message, bounded: ``repr`` of JSON nested ~1000 deep raises RecursionError."""
    if isinstance(value, str):
        return repr(value[:40] + ("…" if len(value) > 40 else ""))
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)[:40]
    return f"a {type(value).__name__}"


def _validate_categories(values: Iterable[object]) -> list[Category]:
    granted: list[Category] = []
    for value in values:
        if not isinstance(value, str) or value not in CATEGORIES:
            raise APIError(422, "unknown_category", f"{_shown(value)} is not one of {list(CATEGORIES)}")
        granted.append(value)
    return granted


def _parse_json_choice(body: bytes) -> _Choice:
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise APIError(400, "invalid_json", f"the body is not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise APIError(422, "invalid_body", 'send an object like {"granted": ["analytics"], "under14": false}')
    granted = data.get("granted")
    if not isinstance(granted, list):
        raise APIError(422, "invalid_granted", '"granted" must be a list of category names')
    under14 = data.get("under14", False)
    if not isinstance(under14, bool):
        raise APIError(422, "invalid_under14", '"under14" must be true or false')
    locale = data.get("locale")
    if locale is not None and locale not in ("ko", "en"):
        raise APIError(422, "invalid_locale", '"locale" must be "ko" or "en"')
    method = data.get("method", "api")
    if not isinstance(method, str) or method not in _CLIENT_METHODS:
        raise APIError(422, "invalid_method", '"method" must be "banner" or "api"')
    cookies = data.get("cookies", [])
    if (
        not isinstance(cookies, list)
        or len(cookies) > _MAX_BROWSER_COOKIES
        or not all(isinstance(n, str) and len(n) <= 256 for n in cookies)
    ):
        raise APIError(422, "invalid_cookies", f'"cookies" must be a list of at most {_MAX_BROWSER_COOKIES} names')
    chosen: ConsentMethod = "banner" if method == "banner" else "api"
    return _validate_categories(granted), under14, locale, chosen, None, tuple(cookies)


def _parse_form_choice(body: bytes) -> _Choice:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise APIError(400, "invalid_form", "a form post must be URL-encoded ASCII") from exc
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise APIError(413, "too_many_fields", f"a consent form has at most {MAX_FORM_FIELDS} fields") from exc
    values: dict[str, list[str]] = {}
    for key, value in fields:
        values.setdefault(key, []).append(value)
    choice = (values.get("choice") or [""])[0]
    if choice == "accept_all":
        granted: list[Category] = list(CATEGORIES)
    elif choice == "reject_all":
        granted = []
    elif choice in ("", "save"):
        granted = _validate_categories(values.get("granted", []))
    else:
        raise APIError(422, "invalid_choice", '"choice" must be accept_all, reject_all or save')
    under14 = (values.get("under14") or ["0"])[0] in ("1", "true", "yes", "on")
    locale = (values.get("locale") or [""])[0]
    return_to = (values.get("return_to") or ["/"])[0]
    return granted, under14, locale if locale in ("ko", "en") else None, "form", return_to, ()


def _json(content: object, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), media_type="application/json", headers=headers)

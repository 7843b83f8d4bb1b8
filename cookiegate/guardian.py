"""Guardian consent for a visitor under 14 (만 14세 미만): the hook the site calls after verifying the guardian.

개인정보 보호법 제22조의2①: consent to process a child's personal data must come from the legal guardian, and
the site must check that it did (시행령 제17조의2 lists the methods). Until a guardian consent is recorded, a
child gets necessary cookies only (``consent.narrow``). The gate cannot verify a guardian itself: the site
does (its own SMS, card, mobile-ID or e-mail check) and then calls either

* ``record_guardian_consent(gate, consent_id=..., granted=[...], method="sms")`` in the same Python process,
  which returns the ``Set-Cookie`` value for the child's browser, or
* ``POST {prefix}/guardian`` from its server with the JSON of the same fields, signed with the gate's secret
  (``sign_request``): only the site's server holds the secret, so a child cannot grant itself anything.

Targeting stays off even with a guardian's yes: the 맞춤형 광고 guideline says behavioural data is not collected
from a child known to be under 14 at all.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson

from cookiegate.consent import GUARDIAN_METHODS, Consent, GuardianMethod, new_consent
from cookiegate.consent_cookie import ConsentCodec, consent_set_cookie
from cookiegate.policy import CATEGORIES, Category

if TYPE_CHECKING:
    from cookiegate.middleware import CookieGate
    from cookiegate.services import ConsentRecorder

#: What each method means, by the clause of 개인정보 보호법 시행령 제17조의2① it implements.
GUARDIAN_METHOD_CLAUSES: Final[Mapping[str, str]] = {
    "sms": "제1호: the guardian marks consent on the site and is told by SMS to their phone",
    "card": "제2호: the guardian marks consent and gives credit or debit card details",
    "mobile-id": "제3호: the guardian marks consent and proves identity by mobile-phone verification",
    "document": "제4호: a signed paper consent delivered in person, by post or fax",
    "email": "제5호: an e-mail with the consent text, answered by the guardian's e-mail of consent",
    "phone-call": "제6호: consent by telephone (with a second call where the text is sent by link)",
    "equivalent": "제7호: a method equivalent to 제1호~제6호",
}
TIMESTAMP_HEADER: Final = "x-cookiegate-timestamp"
SIGNATURE_HEADER: Final = "x-cookiegate-signature"
MAX_CLOCK_SKEW_SECONDS: Final = 300
_SIGNATURE_CONTEXT: Final = b"cookiegate.guardian.v1\n"
_NEVER_FOR_CHILDREN: Final[frozenset[Category]] = frozenset(("targeting",))


class GuardianRequestError(ValueError):
    """A guardian call the gate refuses; ``status`` and ``code`` become the API's JSON error."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class GuardianResult:
    """The recorded consent and the ``Set-Cookie`` header value that carries it to the child's browser."""

    consent: Consent
    set_cookie: str


def child_choice(current: Consent, chosen: Iterable[Category]) -> frozenset[Category]:
    """What a child's own click may grant (제22조의2①): necessary only, or less than the guardian allowed.

    A child may always narrow a guardian's grant (withdrawal is a right, 제37조) but never widen it.
    """
    if current.guardian_method is None:
        return frozenset(("necessary",))
    return (frozenset(chosen) & current.granted) | {"necessary"}


def guardian_consent(
    *,
    consent_id: str | None,
    granted: Iterable[str],
    method: GuardianMethod,
    verified_at: int,
    version: str,
) -> Consent:
    """A child's consent as the guardian gave it (targeting removed: 맞춤형 광고 guideline)."""
    if method not in GUARDIAN_METHODS:
        raise GuardianRequestError(422, "invalid_method", f"method must be one of {list(GUARDIAN_METHODS)}")
    wanted = [c for c in granted if c not in _NEVER_FOR_CHILDREN]
    unknown = [c for c in wanted if c not in CATEGORIES]
    if unknown:
        raise GuardianRequestError(422, "unknown_category", f"{unknown} are not among {list(CATEGORIES)}")
    return new_consent(
        wanted,
        version=version,
        under14=True,
        consent_id=consent_id,
        minor=True,
        guardian_method=method,
        guardian_at=verified_at,
    )


def sign_request(secret: str | bytes, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers the site's server sends with ``POST {prefix}/guardian`` (HMAC-SHA256 of time and body)."""
    key = secret.encode() if isinstance(secret, str) else secret
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(key, _SIGNATURE_CONTEXT + stamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: digest}


def check_signature(keys: Sequence[bytes], headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Accept a call signed with any gate key within 5 minutes; anything else is refused (401)."""
    stamp = headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not stamp.isdigit() or not signature:
        raise GuardianRequestError(401, "unsigned", f"sign the call: {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    if abs(now - int(stamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise GuardianRequestError(401, "stale", f"the timestamp is more than {MAX_CLOCK_SKEW_SECONDS} s off")
    for key in keys:
        if hmac.compare_digest(sign_request(key, body, int(stamp))[SIGNATURE_HEADER], signature):
            return
    raise GuardianRequestError(401, "bad_signature", "the signature does not match any of the gate's keys")


class GuardianConsents:
    """Records guardian consents: builds the consent, appends it to the ledger, returns the cookie.

    Construction does no I/O; ``record`` appends one ledger event (method ``guardian``, with the guardian's
    verification method and time in the consent) and signs the cookie.
    """

    __slots__ = ("_clock", "codec", "ledger", "max_age", "version")

    def __init__(
        self,
        codec: ConsentCodec,
        *,
        version: str,
        max_age_seconds: int,
        ledger: ConsentRecorder | None,
        clock: Any = time.time,
    ) -> None:
        self.codec = codec
        self.version = version
        self.max_age = max_age_seconds
        self.ledger = ledger
        self._clock = clock

    def record(
        self,
        *,
        consent_id: str | None,
        granted: Iterable[str],
        method: GuardianMethod,
        verified_at: int | None = None,
        locale: str = "ko",
        secure: bool = True,
    ) -> GuardianResult:
        """Record a guardian's consent for the child ``consent_id`` and return the cookie to set for the child."""
        now = int(self._clock())
        at = now if verified_at is None else verified_at
        if at > now + MAX_CLOCK_SKEW_SECONDS:
            raise GuardianRequestError(422, "invalid_verified_at", "verified_at lies in the future")
        consent = guardian_consent(
            consent_id=consent_id, granted=granted, method=method, verified_at=at, version=self.version
        )
        if self.ledger is not None:
            self.ledger.record(consent, method="guardian", locale=locale[:16], client_ip=None)
        cookie = consent_set_cookie(self.codec, consent, max_age=self.max_age, secure=secure)
        return GuardianResult(consent, cookie.decode("ascii"))

    def handle(self, headers: Mapping[str, str], body: bytes) -> dict[str, object]:
        """The ``POST {prefix}/guardian`` call: signature first, then the JSON fields of ``record``."""
        check_signature(self.codec.secret_keys, headers, body, self._clock())
        try:
            data: Any = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise GuardianRequestError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise GuardianRequestError(422, "invalid_body", "send an object with consent_id, granted and method")
        consent_id, granted = data.get("consent_id"), data.get("granted")
        verified_at, locale = data.get("verified_at"), data.get("locale", "ko")
        if not isinstance(consent_id, str) or not 8 <= len(consent_id) <= 64:
            raise GuardianRequestError(422, "invalid_consent_id", "consent_id: the child's id from the consent API")
        if not isinstance(granted, list) or not all(isinstance(c, str) for c in granted):
            raise GuardianRequestError(422, "invalid_granted", "granted must be a list of category names")
        if verified_at is not None and not isinstance(verified_at, int):
            raise GuardianRequestError(422, "invalid_verified_at", "verified_at: Unix seconds of the verification")
        if locale not in ("ko", "en"):
            raise GuardianRequestError(422, "invalid_locale", 'locale must be "ko" or "en"')
        result = self.record(
            consent_id=consent_id, granted=granted, method=data.get("method"),  # type: ignore[arg-type]
            verified_at=verified_at, locale=locale, secure=data.get("secure", True) is not False,
        )  # fmt: skip
        return {"consent": result.consent.as_public_dict(), "set_cookie": result.set_cookie}


def record_guardian_consent(
    gate: CookieGate,
    *,
    consent_id: str | None,
    granted: Iterable[str],
    method: GuardianMethod,
    verified_at: int | None = None,
    locale: str = "ko",
    secure: bool = True,
) -> str:
    """The documented Python hook: record a verified guardian's consent; returns the ``Set-Cookie`` value.

    Call it after your own guardian check (시행령 제17조의2) and send the value as a ``Set-Cookie`` header
    on the child's next response.
    """
    result = gate.api.guardian.record(
        consent_id=consent_id, granted=granted, method=method, verified_at=verified_at, locale=locale, secure=secure
    )
    return result.set_cookie

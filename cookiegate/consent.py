"""A visitor's consent as the gate enforces it, and how GPC and age narrow it.

The signed cookie that carries it between requests is ``consent_cookie.py``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final, Literal, get_args

from cookiegate.policy import CATEGORIES, Category

ConsentMethod = Literal["banner", "api", "form", "withdrawal", "gpc", "policy-renewal", "guardian"]
#: How the site verified a legal guardian: 개인정보 보호법 시행령 제17조의2①제1호~제7호 (see ``guardian.py``).
GuardianMethod = Literal["sms", "card", "mobile-id", "document", "email", "phone-call", "equivalent"]
GUARDIAN_METHODS: Final[tuple[str, ...]] = get_args(GuardianMethod)

CONSENT_COOKIE: Final = "cookiegate"
#: What a visitor without a valid choice may have.
NECESSARY_ONLY: Final[frozenset[Category]] = frozenset(("necessary",))
_TARGETING: Final[frozenset[Category]] = frozenset(("targeting",))


@dataclass(frozen=True, slots=True)
class Consent:
    """What a visitor allowed, as the gate enforces it for one request.

    ``chosen`` is False for a visitor who has not made a valid choice under the current policy (new,
    expired, forged or re-asked): they get necessary cookies only, and the banner. ``renewal``: that visitor
    did choose, under an earlier policy version or too long ago, so their next choice renews it.
    """

    granted: frozenset[Category]
    version: str
    consent_id: str | None = None
    issued_at: int = 0
    under14: bool = False
    gpc: bool = False
    minor: bool = False
    chosen: bool = False
    guardian_method: GuardianMethod | None = None
    guardian_at: int = 0
    renewal: bool = False

    def allows(self, category: Category) -> bool:
        """Whether cookies of ``category`` may be set or read."""
        return category in self.granted

    def as_public_dict(self) -> dict[str, object]:
        """The JSON shape the consent API and the banner share."""
        return {
            "consent_id": self.consent_id,
            "granted": [c for c in CATEGORIES if c in self.granted],
            "version": self.version,
            "issued_at": self.issued_at,
            "under14": self.under14,
            "gpc": self.gpc,
            "minor": self.minor,
            "chosen": self.chosen,
            "renewal": self.renewal,
            "guardian": {"method": self.guardian_method, "verified_at": self.guardian_at}
            if self.guardian_method
            else None,
        }


def no_consent(version: str) -> Consent:
    """Necessary cookies only: what a visitor without a valid choice gets."""
    return Consent(granted=NECESSARY_ONLY, version=version)


def normalise_granted(categories: Iterable[str]) -> frozenset[Category]:
    """Known categories only, with ``necessary`` always in; unknown names are rejected by the caller."""
    wanted = set(categories)
    return frozenset(c for c in CATEGORIES if c in wanted) | NECESSARY_ONLY


def narrowed(granted: Iterable[Category], *, gpc: bool, minor: bool, guardian: bool = False) -> frozenset[Category]:
    """The one narrowing rule: GPC or being under 14 means no targeting, whatever was chosen.

    GPC is a valid opt-out signal for sale/sharing; 개인정보 보호법 제22조의2 and the 맞춤형 광고 guideline
    forbid behavioural advertising to a child under 14 even with "accept all". A child's own consent is no
    consent at all (제22조의2①: it must come from the legal guardian), so a minor without a recorded
    guardian consent gets necessary cookies only. The request path, the response path (an app's
    ``X-Cookiegate-Minor``) and the consent API all ask this function.
    """
    granted = granted if isinstance(granted, frozenset) else frozenset(granted)
    if minor and not guardian:
        return NECESSARY_ONLY
    if gpc or minor:
        return granted - _TARGETING
    return granted


def narrow(consent: Consent, *, gpc: bool, minor: bool) -> Consent:
    """``consent`` as enforced for one request: ``narrowed`` applied, with the signals that applied it."""
    minor = minor or consent.under14
    if not gpc and not minor:
        return consent
    guardian = consent.guardian_method is not None
    return replace(
        consent, granted=narrowed(consent.granted, gpc=gpc, minor=minor, guardian=guardian), gpc=gpc, minor=minor
    )


def new_consent(
    granted: Iterable[str],
    *,
    version: str,
    under14: bool,
    consent_id: str | None = None,
    gpc: bool = False,
    minor: bool = False,
    guardian_method: GuardianMethod | None = None,
    guardian_at: int = 0,
) -> Consent:
    """A fresh choice: a new consent id unless the visitor already had one (their history stays linked).

    The signals that narrowed it (``gpc``, ``minor``) and a guardian's grant are set here, not through
    ``dataclasses.replace`` afterwards (~3k instructions a call on a consent change).
    """
    return Consent(
        granted=normalise_granted(granted),
        version=version,
        consent_id=consent_id or uuid.uuid4().hex,
        issued_at=int(time.time()),
        under14=under14,
        gpc=gpc,
        minor=minor,
        chosen=True,
        guardian_method=guardian_method,
        guardian_at=guardian_at,
    )

"""cookiegate: a consent and tracking gateway for ASGI apps.

``CookieGate`` enforces cookie consent in the HTTP layer; ``Policy`` says which cookie is which.
"""

from __future__ import annotations

from cookiegate.consent import Consent
from cookiegate.middleware import CookieGate, get_consent
from cookiegate.policy import Policy

__all__ = ["Consent", "CookieGate", "Policy", "get_consent"]
__version__ = "0.1.0"

"""Consent states the gate signs on its own, outside the consent API: a child flagged by the app, a GPC visitor.

Each function returns the ``Consent`` to sign; the gate signs it into a Set-Cookie (``exchange.py``). Without an
earlier choice they are "not chosen" tokens (``ConsentCodec.encode`` writes ``"c": false``): the banner still
asks, and what they carry protects or proves something for the visitor's next requests.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from cookiegate.consent import Consent, narrow


def remembered_minor(consent: Consent) -> Consent:
    """The consent to re-sign with the app's "under 14" flag, so the child's next requests are protected.

    The app's ``X-Cookiegate-Minor: 1`` is sticky (개인정보 보호법 제22조의2): a chosen consent keeps its choice,
    id and age with ``under14`` set (so targeting stays off); a visitor who has not chosen gets a signed
    "not chosen, under 14" state, and the banner still asks. The consent API keeps ``under14`` through later
    choices, as it does for the banner's own age answer.
    """
    if consent.chosen:
        return narrow(replace(consent, under14=True), gpc=consent.gpc, minor=True)
    return replace(consent, under14=True, minor=True, issued_at=int(time.time()))


def gpc_receipt(consent: Consent) -> Consent:
    """A consent id for a GPC visitor who has none, so the ledger can prove the refusal (개인정보 보호법 제22조).

    The browser's ``Sec-GPC: 1`` is a standing refusal; the ledger records it "once per visitor and policy
    version" (``records/gpc.py``), which needs an identity. The receipt grants nothing more than ``consent``
    (necessary only) and is not a choice: the banner still asks, so the visitor can still opt in to what GPC
    leaves open, and a later choice keeps this id, linking it to the refusal in the visitor's history.
    """
    return replace(consent, consent_id=uuid.uuid4().hex, issued_at=int(time.time()), chosen=False)

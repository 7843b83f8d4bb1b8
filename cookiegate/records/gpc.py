"""GPC as a consent method: a browser's ``Sec-GPC: 1`` is recorded in the ledger once per visitor and version.

Global Privacy Control is a standing opt-out of sale and sharing; the gate honours it on every request
(no targeting, ``consent.narrow``). Proof of consent (개인정보 보호법 제22조) should show that refusal too, so the
first request of a visitor (their consent id) under a policy version that carries the signal appends a ``gpc``
event. Choices made while GPC is on carry ``gpc=1`` in their own events (the consent API).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final

from cookiegate.consent import Consent

if TYPE_CHECKING:
    from cookiegate.services import ConsentRecorder

#: Visitors remembered per process; past it the memory is cleared and a returning visitor is recorded again
#: (a duplicate event is harmless, unbounded memory under a flood of forged ids is not).
SEEN_LIMIT: Final = 100_000


class GpcEvents:
    """Called from the access log sink for requests whose consent has ``gpc`` set; appends at most once each."""

    __slots__ = ("_lock", "_seen", "ledger")

    def __init__(self, ledger: ConsentRecorder) -> None:
        self.ledger = ledger
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def note(self, consent: Consent) -> None:
        """Record a ``gpc`` event the first time this visitor and policy version are seen with the signal."""
        if not consent.consent_id:
            return  # no identity to tie the event to; the visitor's first choice will carry gpc=1
        key = (consent.consent_id, consent.version)
        with self._lock:
            if key in self._seen:
                return
            if len(self._seen) >= SEEN_LIMIT:
                self._seen.clear()
            self._seen.add(key)
        self.ledger.record(consent, method="gpc", locale="-", client_ip=None)

"""GPC as a consent method: a browser's ``Sec-GPC: 1`` is recorded in the ledger once per visitor and version.

Global Privacy Control is a standing opt-out of sale and sharing; the gate honours it on every request
(no targeting, ``consent.narrow``). Proof of consent (개인정보 보호법 제22조) should show that refusal too, so the
first request of a visitor (their consent id) under a policy version that carries the signal appends a ``gpc``
event. Choices made while GPC is on carry ``gpc=1`` in their own events (the consent API).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final

from cookiegate.bounded import FifoCache
from cookiegate.consent import Consent

if TYPE_CHECKING:
    from cookiegate.services import ConsentRecorder

#: Visitors remembered per process; past it the oldest is forgotten and records again if it returns (a
#: duplicate event is harmless, unbounded memory under a flood of forged ids is not). Each is kept as the
#: hash of (consent id, version): ~96 bytes, 9.6 MB when full, where the (id, version) tuple kept the id's
#: string alive too (~190 bytes) and grew the soak's RSS all 10 minutes (issue #11, benchmarks/memory.py).
#: ``hash`` of a str is keyed SipHash, so a clash (one visitor's event left out, ~1e-10 at the bound) cannot
#: be forced; GPC itself is honoured on every request regardless.
SEEN_LIMIT: Final = 100_000


class GpcEvents:
    """Called from the access log sink for requests whose consent has ``gpc`` set; appends at most once each."""

    __slots__ = ("_lock", "_seen", "ledger")

    def __init__(self, ledger: ConsentRecorder) -> None:
        self.ledger = ledger
        self._seen: FifoCache[int, None] = FifoCache(SEEN_LIMIT)
        self._lock = threading.Lock()

    def note(self, consent: Consent) -> None:
        """Record a ``gpc`` event the first time this visitor and policy version are seen with the signal."""
        if not consent.consent_id:
            return  # no identity to tie the event to; the visitor's first choice will carry gpc=1
        key = hash((consent.consent_id, consent.version))
        with self._lock:
            if key in self._seen.entries:
                return
            self._seen.put(key, None)
        self.ledger.record(consent, method="gpc", locale="-", client_ip=None)

"""What the gate's HTTP exchange and WebSocket handshake share: the verdict, header gating, one record.

``Conversation`` resolves the request once (it *is* the request's ``RequestFacts``), gates response headers
with ``rewrite_head`` (Set-Cookie filtered, expiries, the GPC receipt or a remembered minor signed in) and
writes the access record. ``Exchange`` (exchange.py) and ``Handshake`` (handshake.py) are its send wrappers.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from starlette.types import Message, Receive, Send

from cookiegate.consent import Consent
from cookiegate.consent_cookie import consent_set_cookie
from cookiegate.injection import Injection
from cookiegate.records.types import Outcome
from cookiegate.request_facts import RequestFacts
from cookiegate.response import Head, rewrite_head
from cookiegate.signed_states import gpc_receipt, remembered_minor

if TYPE_CHECKING:
    from cookiegate.middleware import CookieGate

_SECURE_SCHEMES: Final = ("https", "wss")
_perf_counter_ns: Final = time.perf_counter_ns


def outgoing(message: Message, head: Head) -> Message:
    """The start message to send: ``message`` itself, or a new one with the gated headers.

    Never the app's message changed: an app may send one dict again (a module-level constant), and must not
    find another visitor's cookies, ``Vary`` or Content-Length in it on the next request.
    """
    return {**message, "headers": head.headers} if head.rewritten else message


class Conversation(RequestFacts):
    """What an HTTP exchange and a WebSocket handshake share: the verdict, header gating, the record.

    It is the request's ``RequestFacts`` too, so resolving a request creates this one object and no other.
    """

    __slots__ = (
        "_gate", "_held", "_injection", "_length_at", "_receive", "_scope", "_send", "_started_ns", "_tag",
        "disconnected", "is_api", "logged", "sent_bytes", "status", "verdict",
    )  # fmt: skip

    def __init__(self, gate: CookieGate, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        self._gate = gate
        self._scope = scope
        self._receive = receive
        self._send = send
        self.status = 0
        self.sent_bytes = 0
        self.logged = False
        self.disconnected = False
        self._held: Message | None = None
        self._injection: Injection | None = None
        path: str = scope["path"]
        prefix = gate.prefix
        # A slice compare, not ``startswith``: a method call costs more than the whole test on this path.
        self.is_api = path[: len(prefix)] == prefix and (len(path) == len(prefix) or path[len(prefix)] == "/")
        if not gate.started:
            gate.start_services()  # an app served without a lifespan: started by its first request
        # The start of the record's duration: read only when there is an access log to write it to.
        self._started_ns = _perf_counter_ns() if gate.access_log is not None else 0
        self.verdict = verdict = gate.verdicts.resolve(scope, self)
        if verdict.blocked:
            gate.leaks.count_all("request", verdict.blocked, path)

    def _gate_headers(self, message: Message, expire: bool) -> Head:
        """Gate ``message["headers"]`` for this visitor: the headers to send (``rewritten`` when they are not the
        app's) and what the rewrite found out about the body. ``message`` stays as the app made it."""
        gate = self._gate
        # Read as a dict (what every ASGI server sends): a ``Message`` is a ``MutableMapping``, and its ``get``
        # is a generic method call (~300 instructions, callgrind) where a dict's is a C read.
        fields: dict[str, Any] = message if isinstance(message, dict) else dict(message)
        headers = fields.get("headers", [])
        if not isinstance(headers, list):
            headers = list(headers)  # ASGI allows any iterable; the rewrite indexes into a list
        blocked = self.verdict.blocked
        expiries: tuple[tuple[bytes, bytes], ...] = ()
        if blocked and expire and gate.expire_blocked:
            expiries = gate.expiries(blocked, self._scope.get("scheme") in _SECURE_SCHEMES)
        verdicts = gate.verdicts
        consent = self.verdict.consent
        head = rewrite_head(
            headers, consent.granted, verdicts.category_of, expiries, verdicts.categories, enforce=gate.enforce
        )
        if head.dropped:
            gate.leaks.count_all("response", head.dropped, self._scope["path"])
        signed: Consent | None = None  # a state the gate signs itself (signed_states.py)
        if head.flagged_minor and not consent.under14:
            signed = remembered_minor(consent)
        elif consent.gpc and consent.consent_id is None and head.html:
            signed = gpc_receipt(consent)
            self.verdict = replace(self.verdict, consent=signed)  # this request's record carries its id
        if signed is not None:
            secure = self._scope.get("scheme") in _SECURE_SCHEMES
            cookie = consent_set_cookie(gate.codec, signed, max_age=gate.api.max_age, secure=secure)
            head.headers = [*head.headers, (b"set-cookie", cookie)]
        head.rewritten = head.headers is not headers
        return head

    def _log(self, outcome: Outcome, status: int) -> None:
        self.logged = True
        access_log = self._gate.access_log
        if access_log is not None:
            access_log.log(
                self._scope,
                status,
                self.sent_bytes,
                self._started_ns,
                self.verdict.consent,
                self.user_agent,
                self.forwarded_for,
                self.forwarded,
                outcome,
            )

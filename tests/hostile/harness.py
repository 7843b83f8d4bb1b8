"""Drive a real ``CookieGate`` with raw ASGI messages and check the invariants every hostile case must keep.

Invariants (issue #9): no 5xx and no exception out of the gate; no Set-Cookie of a category the visitor did
not grant reaches the client; the app never sees a non-granted cookie (whichever parser it uses) nor, for a
child, a marketing parameter (in the query, the path or the Referer); the work and the response size stay
bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cookiegate import CookieGate, Policy
from cookiegate.consent import Consent, new_consent
from cookiegate.consent_cookie import ConsentCodec
from cookiegate.policy import CATEGORIES, DEFAULT_MARKETING_PARAMS
from tests.conftest import hold_counters_in_memory

T = TypeVar("T")
KEY = "hostile-suite-secret-key-0123456789"
POLICY = Policy.default()
CODEC = ConsentCodec([KEY], version=POLICY.version, max_age_seconds=POLICY.consent_max_age_days * 86_400)
ALL = frozenset(CATEGORIES)
MAX_RESPONSE_HEADER_BYTES = 16 * 1024
_MARKETING_EXACT = {p.lower() for p in DEFAULT_MARKETING_PARAMS if not p.endswith("*")}
_MARKETING_PREFIXES = tuple(p[:-1].lower() for p in DEFAULT_MARKETING_PARAMS if p.endswith("*"))


def token(granted: Iterable[str] | None = ALL, *, under14: bool = False, version: str | None = None) -> bytes:
    """A consent cookie value the gate will verify (or, with another ``version``, re-ask)."""
    consent = new_consent(granted or (), version=version or POLICY.version, under14=under14)
    return CODEC.encode(consent).encode()


def consent_cookie(granted: Iterable[str] | None = ALL, *, under14: bool = False) -> bytes:
    return b"cookiegate=" + token(granted, under14=under14)


def allowed(granted: Iterable[str] | None, *, minor: bool = False, gpc: bool = False) -> frozenset[str]:
    """The categories a visitor may have: what they granted, narrowed by age and GPC."""
    out = {"necessary"} | set(granted or ())
    if minor or gpc:
        out.discard("targeting")
    return frozenset(out)


@dataclass
class Outcome:
    """What the client got and what the app saw for one request or handshake."""

    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    app_scope: Scope | None = None
    messages: list[Message] = field(default_factory=list)

    def header_bytes(self) -> int:
        """Size of the response headers on the wire (``name: value\\r\\n`` each), the figure issue #9 bounds."""
        return sum(len(n) + len(v) + 4 for n, v in self.headers)

    def set_cookies(self) -> list[bytes]:
        return [v for n, v in self.headers if n.lower() == b"set-cookie"]

    def stored_names(self) -> list[str]:
        """Names of cookies the client would store (deletions the gate or API sent excluded)."""
        names = []
        for value in self.set_cookies():
            pair, *attributes = value.split(b";")
            ages = [a.split(b"=", 1)[1].strip() for a in attributes if a.strip().lower().startswith(b"max-age=")]
            if ages and (ages[-1] == b"0" or ages[-1].startswith(b"-")):
                continue  # the browser deletes it (the last Max-Age wins, RFC 6265 §5.3)
            names.append(pair.split(b"=", 1)[0].strip().decode("latin-1") if b"=" in pair else "")
        return names

    def app_header(self, name: bytes) -> list[bytes]:
        assert self.app_scope is not None, "the app was not called"
        return [v for n, v in self.app_scope["headers"] if n.lower() == name]


#: Gates ``make_gate`` built in the running test: their services (ingest process, flusher) start with the first
#: request and are stopped after the test (``conftest.py``), as a server's lifespan shutdown would.
OPEN_GATES: list[CookieGate] = []


def make_gate(tmp_path: Path, app: Any, **options: Any) -> CookieGate:
    options.setdefault("secret_keys", [KEY])
    options.setdefault("policy", POLICY)
    options.setdefault("data_dir", tmp_path / "data")
    options.setdefault("access_log", False)
    gate = CookieGate(app, **options)
    hold_counters_in_memory(gate)
    OPEN_GATES.append(gate)
    return gate


class Recording:
    """An ASGI app that records every scope it is called with, then lets ``answer`` respond."""

    def __init__(self, answer: ASGIApp) -> None:
        self.answer = answer
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        await self.answer(scope, receive, send)


def recording_app(
    response_headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b"ok", content_type: bytes = b"text/plain"
) -> Recording:
    """A raw ASGI app that records the scope it got and answers with the given headers."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        headers = [(b"content-type", content_type), *response_headers]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return Recording(app)


def http_scope(
    path: str = "/page",
    query: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
    method: str = "GET",
    raw_path: bytes | None = None,
    scheme: str = "https",
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": raw_path if raw_path is not None else path.encode("utf-8", "surrogatepass"),
        "query_string": query,
        "root_path": "",
        "headers": list(headers),
        "client": ("203.0.113.9", 40000),
        "server": ("shop.test", 443),
    }


def run(gate: CookieGate, scope: Scope, body: bytes = b"") -> Outcome:
    """One request through the gate; the app's scope is taken from a recording app when there is one."""
    outcome = Outcome()
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        if chunks:
            return chunks.pop(0)
        await asyncio.sleep(5)  # as a server does: http.disconnect only when the client goes away
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        outcome.messages.append(message)
        if message["type"] == "http.response.start":
            outcome.status = message["status"]
            outcome.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            outcome.body += message.get("body", b"")

    app = gate.app
    before = len(getattr(app, "scopes", []))
    asyncio.run(gate(scope, receive, send))
    scopes = getattr(app, "scopes", [])
    if len(scopes) > before:
        outcome.app_scope = scopes[-1]
    return outcome


def counting_calls(work: Callable[[], T]) -> tuple[T, int]:
    """``work()``, and how many Python and C function calls it made: a measure of work that, unlike CPU time,
    is the same on a loaded CI machine, under coverage and on a laptop. Unbounded work (a classification per
    forged cookie name, an expiry per blocked name) shows as thousands of calls."""
    calls = 0

    def count(_frame: object, event: str, _arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        result = work()
    finally:
        sys.setprofile(None)
    return result, calls


def run_counting_calls(gate: CookieGate, scope: Scope, body: bytes = b"") -> tuple[Outcome, int]:
    """One request through the gate, and the calls it made (see ``counting_calls``)."""
    return counting_calls(lambda: run(gate, scope, body))


def names_any_parser_sees(header: bytes) -> set[str]:
    """Every cookie name some common parser finds in a Cookie header: ``;``-split, comma-split, SimpleCookie."""
    text = header.decode("latin-1")
    names: set[str] = set()
    for raw in text.replace(",", ";").split(";"):
        chunk = raw.strip()
        if chunk:
            names.add(chunk.split("=", 1)[0].strip() if "=" in chunk else "")
    parsed: SimpleCookie = SimpleCookie()
    with contextlib.suppress(CookieError):
        parsed.load(text)
    names.update(parsed.keys())
    return names


def is_marketing_name(raw: str) -> bool:
    """An independent, lenient reading of a parameter name: decoded twice, folded, PHP-mangled, arrays cut."""
    name = unquote(unquote(raw.replace("+", " "))).strip().lower()
    name = name.split("[", 1)[0].replace(".", "_").replace(" ", "_")
    return name in _MARKETING_EXACT or name.startswith(_MARKETING_PREFIXES)


def marketing_in_query(query: str) -> list[str]:
    found = []
    for piece in query.replace(";", "&").split("&"):
        if piece and is_marketing_name(piece.split("=", 1)[0]):
            found.append(piece)
    found += [k for k, _ in parse_qsl(query, keep_blank_values=True) if is_marketing_name(k)]
    return found


def assert_holds(outcome: Outcome, granted: frozenset[str], *, minor: bool = False) -> None:
    """The invariants every hostile case must keep."""
    assert outcome.status < 500, f"5xx: {outcome.status} {outcome.body[:200]!r}"
    for name in outcome.stored_names():
        assert POLICY.classify(name) in granted, f"client got Set-Cookie {name!r} with {sorted(granted)}"
    size = outcome.header_bytes()
    assert size <= MAX_RESPONSE_HEADER_BYTES, f"{size} bytes of response headers"
    if outcome.app_scope is None:
        return
    for header in outcome.app_header(b"cookie"):
        for name in names_any_parser_sees(header):
            assert POLICY.classify(name) in granted, f"app saw cookie {name!r} with {sorted(granted)}"
    if minor:
        scope = outcome.app_scope
        query = scope.get("query_string", b"").decode("latin-1")
        assert not marketing_in_query(query), f"child's marketing parameter reached the app: {query!r}"
        for path in (scope["path"], scope.get("raw_path", b"").decode("latin-1")):
            for segment in path.split("/"):
                for param in segment.split(";")[1:]:
                    assert not is_marketing_name(param.split("=", 1)[0]), f"marketing path parameter: {path!r}"
        for referer in outcome.app_header(b"referer"):
            text = referer.decode("latin-1")
            rest = text.split("?", 1)[1] if "?" in text else ""
            fragment = text.split("#", 1)[1] if "#" in text else ""
            assert not marketing_in_query(rest.split("#", 1)[0]), f"marketing in Referer: {text!r}"
            assert not marketing_in_query(fragment), f"marketing in Referer fragment: {text!r}"


def consent_of(outcome: Outcome) -> Consent:
    assert outcome.app_scope is not None
    consent = outcome.app_scope["cookiegate"]
    assert isinstance(consent, Consent)
    return consent

"""Property: whatever cookies and consent, no cookie of a non-granted category passes either way."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send

from cookiegate import CookieGate, Policy
from cookiegate.consent import new_consent
from cookiegate.consent_cookie import ConsentCodec
from cookiegate.knowledge import shipped_facts
from cookiegate.policy import CATEGORIES

POLICY = Policy.default()
KEY = "property-secret-key-0123456789"
CODEC = ConsentCodec([KEY], version=POLICY.version, max_age_seconds=3600)
KNOWN = sorted({f.name + ("x" if f.match == "prefix" else "") for f in shipped_facts() if f.match != "glob"})

# Well-formed pairs only (malformed ones are dropped, and tested in tests/hostile/test_cookie_header.py):
# no CTLs, whitespace, DQUOTE, comma or backslash (RFC 6265 §4.1.1; bytes >= 0x80 as browsers send them).
_UNSAFE = "".join(map(chr, range(0x20))) + '\x7f ",\\;'
token_chars = st.characters(codec="latin-1", exclude_characters=_UNSAFE + "=")
names = st.one_of(st.sampled_from(KNOWN), st.text(token_chars, min_size=1, max_size=12))
values = st.text(st.characters(codec="latin-1", exclude_characters=_UNSAFE), max_size=10)


async def _run(gate: CookieGate, headers: list[tuple[bytes, bytes]]) -> tuple[list[bytes], list[bytes]]:
    seen: list[bytes] = []
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": headers,
        "scheme": "http",
        "http_version": "1.1",
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    await gate(scope, receive, send)
    set_cookies = [v for n, v in sent[0]["headers"] if n == b"set-cookie"]
    seen.extend(v for n, v in SCOPES[-1]["headers"] if n == b"cookie")
    return seen, set_cookies


SCOPES: list[Scope] = []
RESPONSE_COOKIES: list[bytes] = []


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    SCOPES.append(scope)
    headers = [(b"set-cookie", c) for c in RESPONSE_COOKIES] + [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


def _name(pair: bytes) -> str:
    return pair.split(b"=", 1)[0].strip().decode("latin-1")


def make_gate(tmp: Path) -> CookieGate:
    return CookieGate(app, secret_keys=[KEY], policy=POLICY, data_dir=tmp, access_log=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    request_cookies=st.lists(st.tuples(names, values), max_size=12),
    response_cookies=st.lists(st.tuples(names, values), max_size=8),
    granted=st.none() | st.sets(st.sampled_from(CATEGORIES)),
    under14=st.booleans(),
    gpc=st.booleans(),
    split=st.booleans(),
)
def test_no_cookie_of_a_non_granted_category_passes(
    tmp_path: Path,
    request_cookies: list[tuple[str, str]],
    response_cookies: list[tuple[str, str]],
    granted: set[str] | None,
    under14: bool,
    gpc: bool,
    split: bool,
) -> None:
    gate = make_gate(tmp_path)
    pairs = [f"{n}={v}".encode("latin-1") for n, v in request_cookies]
    allowed = {"necessary"}
    if granted is not None:
        consent = new_consent(granted, version=POLICY.version, under14=under14)
        pairs.insert(len(pairs) // 2, b"cookiegate=" + CODEC.encode(consent).encode())
        allowed |= granted
        if under14 or gpc:
            allowed.discard("targeting")
        if under14:  # 제22조의2①: without a guardian's consent a child gets necessary cookies only
            allowed = {"necessary"}
    joined = [(b"cookie", b"; ".join(pairs))] if pairs else []
    headers = [(b"cookie", p) for p in pairs] if split else joined
    if gpc:
        headers.append((b"sec-gpc", b"1"))
    RESPONSE_COOKIES[:] = [f"{n}={v}; Path=/".encode("latin-1") for n, v in response_cookies]
    seen, set_cookies = asyncio.run(_run(gate, headers))

    for header in seen:
        for pair in header.split(b"; "):
            name = pair.split(b"=", 1)[0].strip().decode("latin-1")
            assert POLICY.classify(name) in allowed, f"app saw {name!r} with {allowed}"
    for value in set_cookies:
        name = value.split(b";", 1)[0].split(b"=", 1)[0].strip().decode("latin-1")
        if b"Max-Age=0" in value and value.split(b";", 1)[0].endswith(b"="):
            continue  # a deletion the gate added: it removes a cookie, never stores one
        assert POLICY.classify(name) in allowed, f"browser got {name!r} with {allowed}"
    # Granted cookies reach the app untouched.
    expected = [p for p in pairs if p.strip() and POLICY.classify(_name(p)) in allowed]
    got = [p.strip() for h in seen for p in h.split(b"; ") if p.strip()]
    assert [p.strip() for p in expected] == got

"""Bytes-level Cookie and Set-Cookie handling: split, filter by category, expire.

Works on the raw ASGI header bytes: decoding into ``http.cookies`` objects costs tens of microseconds and
silently drops pairs it cannot parse, while a gate must see (and block) every name a browser sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

_EXPIRED: Final = b"=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path="


def cookie_pairs(header: bytes) -> list[tuple[bytes, bytes]]:
    """``(raw name, "name=value")`` for every pair in a Cookie header, in order, blanks skipped.

    Names stay bytes (any byte sequence, invalid UTF-8 included): the gate classifies them through a
    bytes-keyed cache and decodes (latin-1) only the names it blocks, so a miss costs no decoding.
    """
    pairs: list[tuple[bytes, bytes]] = []
    for raw in header.split(b";"):
        pair = raw.strip()
        if pair:
            pairs.append((pair.partition(b"=")[0].rstrip(), pair))
    return pairs


def pair_value(pair: bytes) -> bytes:
    """The value of a ``name=value`` pair, without optional double quotes."""
    return pair.partition(b"=")[2].strip().strip(b'"')


def set_cookie_name(header_value: bytes) -> bytes:
    """The raw name a Set-Cookie header value sets; ``b""`` for a nameless ``Set-Cookie: value``.

    Browsers store ``Set-Cookie: session`` as a cookie with an empty name (RFC 6265bis §5.7), so it is
    classified as the empty name, not as "session" (which a policy may call necessary).
    """
    pair = header_value.partition(b";")[0]
    if b"=" not in pair:
        return b""
    return pair.partition(b"=")[0].strip()


def expire_cookie(name: str, path: str = "/", domain: str | None = None, secure: bool = False) -> bytes:
    """A Set-Cookie value that deletes ``name`` for ``path`` (and ``domain``, when it was set for one)."""
    value = name.encode("latin-1") + _EXPIRED + path.encode("latin-1")
    if domain:
        value += b"; Domain=" + domain.encode("latin-1")
    if secure or name.startswith(("__Secure-", "__Host-")):
        value += b"; Secure"
    return value


def expiry_headers(names: Iterable[str], domains: Iterable[str], secure: bool) -> list[tuple[bytes, bytes]]:
    """Set-Cookie headers deleting each name for the host and for every configured cookie domain.

    A cookie set by a script for ``.example.com`` is only deleted by a Set-Cookie naming that domain, so
    a site lists its cookie domains; host-only cookies are deleted by the header without a domain.
    """
    headers: list[tuple[bytes, bytes]] = []
    domain_list = tuple(domains)
    for name in dict.fromkeys(names):
        if not _is_token(name):
            continue  # a name no Set-Cookie can carry cannot be expired from the server
        headers.append((b"set-cookie", expire_cookie(name, secure=secure)))
        if not name.startswith("__Host-"):
            headers.extend((b"set-cookie", expire_cookie(name, domain=d, secure=secure)) for d in domain_list)
    return headers


_TOKEN_BYTES: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def _is_token(name: str) -> bool:
    """RFC 6265 cookie-name (an RFC 7230 token): anything else would corrupt the Set-Cookie header."""
    return bool(name) and all(ch in _TOKEN_BYTES for ch in name)

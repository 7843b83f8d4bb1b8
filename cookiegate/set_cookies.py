"""Bytes-level Set-Cookie handling: the name a header sets, whether it only deletes, and deletion headers.

The response side of the gate (``response.rewrite_head``) runs these on every Set-Cookie an app sends, so they
read raw header bytes with short byte loops and C-level searches rather than ``http.cookies``; the request side
(the Cookie header) is ``cookies.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from cookiegate.bounded import FifoCache
from cookiegate.cookies import VALUE_OCTETS, well_formed_pair

_MAX_AGE: Final = b"max-age"
_MAX_AGE_LENGTH: Final = len(_MAX_AGE)
_EXPIRED: Final = b"=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path="

#: ``_max_age_deletes`` per attribute string (what follows a Set-Cookie's pair), bounded.
_max_age_cache: Final[FifoCache[bytes, bool]] = FifoCache(1024)
_MAX_AGE_DELETES: Final = _max_age_cache.entries

#: Bytes of deletion headers per response. Clients refuse response header blocks past 16-64 KB (and a
#: proxy may answer 502), so a flood of blocked names is expired a slice at a time: the names that are
#: left come back on the next request and get their turn then.
MAX_EXPIRY_BYTES: Final = 8 * 1024


def _is_space(byte: int) -> bool:
    """ASCII whitespace, as ``bytes.strip`` takes it."""
    return byte == 0x20 or 0x09 <= byte <= 0x0D


def _same_letter(byte: int, lower: int) -> bool:
    """``byte`` is ``lower`` in either case (``lower``: a lower-case letter or a byte compared as it is)."""
    return byte == lower or (0x61 <= lower <= 0x7A and byte | 0x20 == lower)


def _pair_end(header_value: bytes) -> int:
    """Where the ``name=value`` pair of a Set-Cookie value ends: its first ";", or its length."""
    at = 0
    size = len(header_value)
    while at < size and header_value[at] != 0x3B:
        at += 1
    return at


def stated_name(header_value: bytes) -> bytes:
    """The name a Set-Cookie value states: before the first "=" of its pair, stripped; ``b""`` without one.

    A byte loop: in the compiled build it costs a tenth of ``partition``, ``strip`` and ``find`` (callgrind),
    and the response rewrite runs it on every Set-Cookie. ``set_cookie_name`` adds the malformed-pair check.
    """
    for at in range(len(header_value)):
        byte = header_value[at]
        if byte == 0x3D:  # "="
            if at and not _is_space(header_value[0]) and not _is_space(header_value[at - 1]):
                return header_value[:at]
            return header_value[:at].strip()
        if byte == 0x3B:  # ";": no "=" in the pair
            return b""
    return b""


def set_cookie_name(header_value: bytes) -> bytes:
    """The raw name a Set-Cookie header value sets; ``b""`` for a nameless ``Set-Cookie: value``.

    Browsers store ``Set-Cookie: session`` as a cookie with an empty name (RFC 6265bis §5.7), so it is
    classified as the empty name, not as "session" (which a policy may call necessary).
    """
    name = stated_name(header_value)
    if not name or _plain_pair(header_value):
        return name
    # An unsafe byte in the pair: only a quoted value may hold one. ``_ga=1, _fbp=2`` is one cookie to a
    # browser but two to a client or proxy that splits folded headers on commas: judged as the empty name,
    # which no policy calls necessary.
    value = header_value[: _pair_end(header_value)].partition(b"=")[2].strip()
    return name if well_formed_pair(name, value) else b""


def _plain_pair(header_value: bytes) -> bool:
    """Whether the ``name=value`` pair, stripped, has no byte of ``cookies.UNSAFE_OCTETS`` (nearly every pair).

    One byte loop; the search it spares (a slice, ``strip`` and a regex) cost ~3k instructions a header.
    """
    seen = gap = False  # a byte other than whitespace seen; whitespace after it
    for at in range(len(header_value)):
        byte = header_value[at]
        kind = VALUE_OCTETS[byte]
        if kind == 1:  # ";": the end of the pair
            return True
        if kind == 2:  # a space or an unsafe byte
            if not _is_space(byte):
                return False  # a control byte, a quote, a comma or a backslash
            gap = seen
        elif gap:
            return False  # whitespace inside the pair
        else:
            seen = True
    return True


def _last_max_age(header_value: bytes) -> bytes | None:
    """The value of the last ``Max-Age`` attribute, stripped (None: there is none).

    One ``split`` (C speed) and a look at each attribute's first letter: the response rewrite runs this on
    every blocked Set-Cookie, and most attributes are not Max-Age.
    """
    found: bytes | None = None
    attributes = header_value.split(b";")
    for index in range(1, len(attributes)):  # [0] is the name=value pair
        attribute = attributes[index]
        size = len(attribute)
        first = 0
        while first < size and _is_space(attribute[first]):
            first += 1
        if size - first < _MAX_AGE_LENGTH or not _same_letter(attribute[first], _MAX_AGE[0]):
            continue
        name_end = first
        while name_end < first + _MAX_AGE_LENGTH and _same_letter(attribute[name_end], _MAX_AGE[name_end - first]):
            name_end += 1
        if name_end < first + _MAX_AGE_LENGTH:
            continue
        while name_end < size and _is_space(attribute[name_end]):
            name_end += 1
        if name_end == size:
            found = b""  # ``Max-Age`` without a value
        elif attribute[name_end] == 0x3D:  # "="
            found = attribute[name_end + 1 :].strip()
    return found


def _positive_attribute_at(lowered: bytes, at: int) -> bool:
    """Whether ``lowered[at:]`` is an attribute ``max-age = <digits starting 1-9>`` right after a ";"."""
    before = at
    while before and _is_space(lowered[before - 1]):
        before -= 1
    if before == 0 or lowered[before - 1] != 0x3B:
        return False
    size = len(lowered)
    after = at + _MAX_AGE_LENGTH
    while after < size and _is_space(lowered[after]):
        after += 1
    if after == size or lowered[after] != 0x3D:
        return False
    after += 1
    while after < size and _is_space(lowered[after]):
        after += 1
    return after < size and 0x31 <= lowered[after] <= 0x39


def is_deletion(header_value: bytes) -> bool:
    """Whether a Set-Cookie only deletes its cookie (``Max-Age`` <= 0): deleting needs no consent.

    The consent API's "reject all" answer expires the trackers a visitor sent; dropping those headers as
    "targeting cookies" would keep the trackers in the browser. Only ``Max-Age`` counts (the last one wins, as
    in browsers, RFC 6265 §5.3); an ``Expires`` date alone is not trusted to be in the past.

    What ``Max-Age`` says depends on the attributes alone (after the pair's ";"), and an app sends the same
    few attribute strings with a new value each time (``Max-Age=7776000; Path=/; SameSite=lax``): their
    answer is cached, so a blocked tracker costs a ``partition`` and a lookup, not a scan (~1.8k instead of
    ~2.1k instructions, callgrind). Only the pair checks of an actual deletion run every time.
    """
    attributes = header_value.partition(b";")[2]
    deletes = _MAX_AGE_DELETES.get(attributes)
    if deletes is None:
        deletes = _max_age_deletes(header_value)
        _max_age_cache.put(attributes, deletes)  # bounded: random attributes cost a scan each, never memory
    if not deletes:
        return False
    # A folded ``_ga=1, _fbp=2; Max-Age=0`` would store ``_ga`` in a client that splits on the comma.
    if header_value.find(b"=", 0, _pair_end(header_value)) == -1:
        return False  # ``session; Max-Age=0`` names no cookie to delete
    return set_cookie_name(header_value) == stated_name(header_value)


def _max_age_deletes(header_value: bytes) -> bool:
    """Whether the last ``Max-Age`` attribute of a Set-Cookie value is 0 or negative (no pair checks)."""
    lowered = header_value.lower()
    at = lowered.rfind(b"max-age")
    if at == -1:
        return False  # most Set-Cookie headers: two C calls
    if _positive_attribute_at(lowered, at):
        return False  # the last "max-age" is an attribute with a positive number: no need to split
    max_age = _last_max_age(header_value)
    return max_age is not None and (max_age == b"0" or (max_age.startswith(b"-") and max_age[1:].isdigit()))


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
    a site lists its cookie domains; host-only cookies are deleted by the header without a domain. At most
    ``MAX_EXPIRY_BYTES`` of them: names left over are expired on a later response.
    """
    headers: list[tuple[bytes, bytes]] = []
    domain_list = tuple(domains)
    budget = MAX_EXPIRY_BYTES
    for name in dict.fromkeys(names):
        if not _is_token(name):
            continue  # a name no Set-Cookie can carry cannot be expired from the server
        values = [expire_cookie(name, secure=secure)]
        if not name.startswith("__Host-"):
            values.extend(expire_cookie(name, domain=d, secure=secure) for d in domain_list)
        size = sum(len(v) + 12 for v in values)  # + "set-cookie: " per header line
        if size > budget:
            break
        budget -= size
        headers.extend((b"set-cookie", v) for v in values)
    return headers


_TOKEN_BYTES: Final = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _is_token(name: str) -> bool:
    """RFC 6265 cookie-name (an RFC 7230 token): anything else would corrupt the Set-Cookie header."""
    return bool(name) and all(ch in _TOKEN_BYTES for ch in name)

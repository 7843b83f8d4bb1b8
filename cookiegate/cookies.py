"""Bytes-level Cookie header handling: split into pairs, tell well-formed from malformed, cut volatile values.

Works on the raw ASGI header bytes: decoding into ``http.cookies`` objects costs tens of microseconds and
silently drops pairs it cannot parse, while a gate must see (and block) every name a browser sends.

Parsers disagree about malformed Cookie headers: ``session=a _fbp=x, IDE=y`` is one ``session`` cookie to a
``;``-splitter, but Python's ``SimpleCookie`` (and RFC 2965-era parsers splitting on ``,``) also see ``_fbp``
and ``IDE``. So the gate passes on only well-formed pairs and drops the rest: whatever parser the app uses,
it cannot find a name the gate did not judge.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

#: Pairs examined per Cookie header. Browsers keep at most 180 cookies per domain (Chrome; RFC 6265 §6.1 asks
#: for at least 50), so more is forged: without a cap a 60 KB header of 4,000 random names cost ~30 ms of CPU.
#: Pairs past the cap are dropped, never passed on unjudged.
MAX_COOKIE_PAIRS: Final = 180

# Bytes that end a cookie-value for some parser (RFC 6265 §4.1.1 cookie-octet excludes them): whitespace
# (SimpleCookie splits there), comma (RFC 2965 separator), DQUOTE, backslash (quoted-string escapes), CTLs.
#: Those bytes but the space (checked per pair: spaces around a pair are allowed), listed once; a whole Cookie
#: header is checked by ``translate`` deleting them (a regex search of a 370-byte header cost ~20k
#: instructions, this ~6k, callgrind), a short value by the class searches below.
_UNSAFE_BUT_SPACE: Final = bytes([*range(0x20), 0x7F, 0x22, 0x2C, 0x5C])
#: Those bytes and the browser's separator bytes: what deleting them takes from a header counts all three kinds.
_UNSAFE_OR_SEPARATOR: Final = _UNSAFE_BUT_SPACE + b"; "
# A compiled class search is ~3x cheaper than two ``bytes.translate`` copies (Set-Cookie runs it per header).
UNSAFE_OCTETS: Final = re.compile(b"[ " + re.escape(_UNSAFE_BUT_SPACE) + b"]")
_UNSAFE_QUOTED: Final = re.compile(b"[" + re.escape(_UNSAFE_BUT_SPACE) + b"]")
#: Per octet, for the loops that read a cookie value byte by byte: 0 goes on, 1 ends it (";"), 2 is a space or
#: an unsafe byte. One table read a byte instead of up to six compares.
VALUE_OCTETS: Final = bytes(1 if o == 0x3B else 2 if o == 0x20 or o in _UNSAFE_BUT_SPACE else 0 for o in range(256))


class CookieHeader(NamedTuple):
    """A Cookie header split for judging: the well-formed pairs, and how many chunks were dropped.

    A NamedTuple, not a frozen dataclass: it is built on every verdict-cache miss, and costs a third as much.
    """

    pairs: list[tuple[bytes, bytes]]
    dropped: int


def parse_cookie_header(header: bytes) -> CookieHeader:
    """Well-formed ``(raw name, "name=value")`` pairs in order (at most ``MAX_COOKIE_PAIRS``), and a drop count.

    A chunk without ``=`` is the value of a cookie with an empty name (RFC 6265bis §5.7; Starlette reads it so
    too), so it is named ``b""``. Names stay bytes (invalid UTF-8 included): the gate classifies them through
    a bytes-keyed cache and decodes only the names it blocks.
    """
    browser = _browser_pairs(header)
    if browser is not None:
        return browser
    # One check of the whole header instead of one or two per pair: with none of these bytes anywhere, a
    # pair without a space is well-formed as it stands (a browser's header almost always is).
    clean = len(header.translate(None, _UNSAFE_BUT_SPACE)) == len(header)
    pairs: list[tuple[bytes, bytes]] = []
    dropped = 0
    chunks = header.split(b";", MAX_COOKIE_PAIRS * 2)
    if len(chunks) > MAX_COOKIE_PAIRS * 2:
        dropped += 1  # the unsplit remainder: judged by nobody, so passed to nobody
        chunks.pop()
    for raw in chunks:
        pair = raw.strip()
        if not pair:
            continue
        if len(pairs) >= MAX_COOKIE_PAIRS:
            dropped += 1
            continue
        name, equals, value = pair.partition(b"=")
        if equals:
            name = name.rstrip()
        else:
            name, value = b"", pair
        if (clean and pair.find(b" ") == -1) or well_formed_pair(name, value.lstrip()):
            pairs.append((name, pair))
        else:
            dropped += 1
    return CookieHeader(pairs, dropped)


def _browser_pairs(header: bytes) -> CookieHeader | None:
    """The pairs of a clean header in the layout browsers send (pairs joined by exactly ``"; "``, no other
    space), or None for any other layout, which ``parse_cookie_header`` then splits the general way.

    The same pairs, cap and drop count as the general way, for half its cost (callgrind): every pair is
    well-formed as it stands, so a bounded split and a scan for each name's ``=`` are all it takes.
    """
    chunks = header.split(b"; ", MAX_COOKIE_PAIRS * 2)
    separators = len(chunks) - 1
    capped = len(chunks) > MAX_COOKIE_PAIRS * 2
    if capped:
        separators += chunks[-1].count(b"; ")  # the unsplit remainder of a forged header
    # Each separator is a ";" and a space: the layout holds exactly when deleting every unsafe byte, ";" and
    # space takes those and nothing else. One C pass besides the split, where counting ";", "; " and " " and
    # checking for unsafe bytes apart took four (~2k instructions each on a browser's header, callgrind).
    if len(header) - len(header.translate(None, _UNSAFE_OR_SEPARATOR)) != 2 * separators:
        return None
    pairs: list[tuple[bytes, bytes]] = []
    dropped = 0
    if capped:
        dropped += 1  # the unsplit remainder, as in the general split
        chunks.pop()
    for pair in chunks:
        if not pair:  # "a=1; ; b=2": an empty chunk, skipped as in the general split
            continue
        if len(pairs) >= MAX_COOKIE_PAIRS:
            dropped += 1
            continue
        at = 0
        size = len(pair)
        while at < size and pair[at] != 0x3D:  # "="
            at += 1
        pairs.append((pair[:at] if at < size else b"", pair))  # no "=": a nameless cookie's value
    return CookieHeader(pairs, dropped)


def well_formed_pair(name: bytes, value: bytes) -> bool:
    """A pair any parser reads as this one cookie: no byte in name or value that ends a cookie-value somewhere."""
    if UNSAFE_OCTETS.search(name) is not None:
        return False
    if value[:1] == b'"':
        return len(value) >= 2 and value[-1:] == b'"' and _UNSAFE_QUOTED.search(value, 1, len(value) - 1) is None
    return UNSAFE_OCTETS.search(value) is None


#: Cookies whose value changes on almost every page view while the name stays: GA4's ``_ga_<stream id>``
#: carries the session's hit counter (developers.google.com/analytics, "Cookie usage on websites").
VOLATILE_PREFIX: Final = b"_ga_"
_VOLATILE_LENGTH: Final = len(VOLATILE_PREFIX)


#: A header cut around its volatile values: the pieces between them (each ends with a volatile name's "=",
#: the last is the rest of the header), and the values, in order.
VolatileCut = tuple[list[bytes], list[bytes]]


def cut_volatile_values(header: bytes) -> VolatileCut | None:
    """``header`` cut around its volatile values (see ``VolatileCut``), or None when it has none.

    Two headers whose pieces are the same differ only in those values, so they carry the same names and the
    same consent cookie. None too when such a value is not plain cookie-octets (RFC 6265 §4.1.1): the caller
    then judges the header in full, which drops that pair as malformed. The header is scanned by ``find``
    (C speed) and only the bytes around a match by Python loops: this runs whenever a visitor's exact header
    is new.
    """
    at = header.find(VOLATILE_PREFIX)
    if at == -1:
        return None
    size = len(header)
    pieces: list[bytes] = []
    values: list[bytes] = []
    kept_from = 0
    while at != -1:
        before = at
        while before and header[before - 1] == 0x20:
            before -= 1
        if before == 0 or header[before - 1] == 0x3B:  # a name: the start of a pair, not inside a value
            equals = at + _VOLATILE_LENGTH
            while equals < size and header[equals] != 0x3D and header[equals] != 0x3B:
                equals += 1
            if equals == size or header[equals] == 0x3B:
                return None  # no "=": the value of a nameless cookie
            end = equals + 1
            stop = 0
            while end < size:
                # ``UNSAFE_OCTETS`` checked in the loop that finds the value's end: a regex search after it
                # cost ~2k instructions more per header (callgrind), as much as the whole loop.
                stop = VALUE_OCTETS[header[end]]
                if stop:
                    break
                end += 1
            if stop == 2:
                return None
            pieces.append(header[kept_from : equals + 1])
            values.append(header[equals + 1 : end])
            kept_from = at = end
        at = header.find(VOLATILE_PREFIX, at + 1)
    if not pieces:
        return None
    pieces.append(header[kept_from:])
    return pieces, values


def with_volatile_values(pieces: list[bytes], values: list[bytes]) -> bytes:
    """The header ``cut_volatile_values`` cut into ``pieces``, with ``values`` put back between them."""
    parts = [pieces[0]]
    for at in range(len(values)):
        parts.append(values[at])
        parts.append(pieces[at + 1])
    return b"".join(parts)


def cookie_pairs(header: bytes) -> list[tuple[bytes, bytes]]:
    """``(raw name, "name=value")`` for every well-formed pair in a Cookie header, in order, blanks skipped."""
    return parse_cookie_header(header).pairs


def pair_value(pair: bytes) -> bytes:
    """The value of a ``name=value`` pair, without optional double quotes."""
    return pair.partition(b"=")[2].strip().strip(b'"')

"""Rules for visitors under 14 (만 14세 미만): who counts as one, and what marketing data they never send.

개인정보 보호법 제22조의2 and the 맞춤형 광고 guideline: no behavioural data and no targeted advertising for
a child known to be under 14; marketing consent can only come from a legal guardian, so the gate treats
"accept all" from a minor as everything but targeting and cuts campaign/click identifiers from the URL, the
path parameters and the ``Referer`` before the app (and its analytics) can store them.

Names are compared the way any reader of them might see them: percent-decoded (twice: ``%2567`` is ``%67``
after one decode), ``+`` as a space, case-folded, PHP's ``.``/space-to-``_`` mangling applied, array
suffixes (``gclid[]``, ``gclid[0]``) cut, and ``;`` treated as a separator as well as ``&`` (old CGI
libraries and some frameworks split on both). A name that merely might be a marketing one is dropped:
when in doubt, block.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from starlette.types import Scope

from cookiegate.bounded import FifoCache

#: The response header an app sets to tell the gate "this visitor is a minor" (the gate strips it).
MINOR_RESPONSE_HEADER: Final = b"x-cookiegate-minor"

logger = logging.getLogger("cookiegate")

MinorHook = Callable[[Scope], bool]

_DECODE_ROUNDS: Final = 3
#: Parameters examined per query; a URL with more is forged, and the rest is dropped (fail safe).
MAX_QUERY_PARAMS: Final = 256
_MANGLED: Final = bytes.maketrans(b". -", b"___")
#: Distinct query strings whose stripped form is remembered, and the longest one remembered.
STRIPPED_CACHE_SIZE: Final = 1024
STRIPPED_QUERY_LIMIT: Final = 2048


class MarketingParams:
    """Removes marketing query parameters; exact names in a set, ``name*`` entries as prefixes."""

    __slots__ = ("_exact", "_prefixes", "_stripped", "_stripped_cache")

    def __init__(self, names: Iterable[str]) -> None:
        exact: set[bytes] = set()
        prefixes: list[bytes] = []
        for name in names:
            encoded = _normalise(name.encode("utf-8"))
            if name.endswith("*"):
                prefixes.append(encoded.rstrip(b"*"))
            else:
                exact.add(encoded)
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)
        # A campaign link brings many children with the same query: each distinct query is judged once.
        self._stripped_cache: FifoCache[bytes, bytes] = FifoCache(STRIPPED_CACHE_SIZE)
        self._stripped = self._stripped_cache.entries

    def is_marketing(self, key: bytes) -> bool:
        """Whether a raw query key names a marketing parameter, in any spelling a reader would decode."""
        key = _normalise(key)
        return key in self._exact or key.startswith(self._prefixes)

    def strip(self, query_string: bytes) -> bytes:
        """The query string without marketing parameters, other parameters untouched and in order.

        A bytes split costs ~2.5 µs where ``parse_qsl``/``urlencode`` cost ~14 µs and re-encode values.
        """
        if not query_string:
            return query_string
        known = self._stripped.get(query_string)
        if known is not None:
            return known
        stripped = self._strip(query_string)
        if len(query_string) <= STRIPPED_QUERY_LIMIT:
            self._stripped_cache.put(query_string, stripped)  # bounded: random queries cost a strip each
        return stripped

    def _strip(self, query_string: bytes) -> bytes:
        parts = query_string.split(b"&", MAX_QUERY_PARAMS)
        if len(parts) > MAX_QUERY_PARAMS:
            parts.pop()  # the unsplit remainder of a forged URL: dropped, not passed unjudged
            changed = True
        else:
            changed = False
        kept: list[bytes] = []
        for part in parts:
            if not part:
                changed = True
                continue
            cleaned = self._strip_part(part)
            if cleaned is not part:
                changed = True
            if cleaned:
                kept.append(cleaned)
        return b"&".join(kept) if changed else query_string

    def _strip_part(self, part: bytes) -> bytes:
        """One ``&``-separated part without its ``;``-separated marketing pieces (``part`` itself if none)."""
        if b";" not in part:
            return b"" if self.is_marketing(part.partition(b"=")[0]) else part
        pieces = part.split(b";")
        kept = [p for p in pieces if p and not self.is_marketing(p.partition(b"=")[0])]
        if len(kept) == len(pieces):
            return part
        return b";".join(kept)

    def strip_path(self, path: bytes) -> bytes:
        """A path without marketing path parameters (``/shop;gclid=1/item`` → ``/shop/item``)."""
        if b";" not in path:
            return path
        segments = path.split(b"/")
        out: list[bytes] = []
        for segment in segments:
            if b";" not in segment:
                out.append(segment)
                continue
            head, _, params = segment.partition(b";")
            kept = [p for p in params.split(b";") if p and not self.is_marketing(p.partition(b"=")[0])]
            out.append(b";".join([head, *kept]))
        cleaned = b"/".join(out)
        return path if cleaned == path else cleaned

    def clean_referer(self, value: bytes) -> bytes:
        """A ``Referer`` URL without marketing parameters in its path, query or fragment.

        A child's landing URL (``?gclid=…&utm_source=…``) comes back as the ``Referer`` of every next page
        view, where server logs and analytics read it: the gate cleans it before the app sees it.
        """
        if b"?" not in value and b";" not in value and b"#" not in value:
            return value
        rest, hash_mark, fragment = value.partition(b"#")
        rest, question, query = rest.partition(b"?")
        scheme_end = rest.find(b"://")
        authority_end = rest.find(b"/", scheme_end + 3) if scheme_end != -1 else 0
        if authority_end == -1:
            head, path = rest, b""
        else:
            head, path = rest[:authority_end], rest[authority_end:]
        cleaned = head + self.strip_path(path)
        if question:
            query = self.strip(query)
            if query:
                cleaned += b"?" + query
        if hash_mark:
            # Analytics tags read campaign parameters from the fragment too (``allowAnchor``).
            fragment = self.strip(fragment)
            if fragment:
                cleaned += b"#" + fragment
        return cleaned

    def strip_scope(self, scope: dict[str, Any], referer: bytes) -> None:
        """A child's campaign and click identifiers never reach the app (개인정보 보호법 제22조의2): cut, in
        place, from the query string, from path parameters (``/shop;gclid=1``, in ``path`` and ``raw_path``)
        and from the ``Referer`` (``referer``: its value), which carries the landing URL into every next view.
        """
        query: bytes = scope.get("query_string", b"")
        if query:
            scope["query_string"] = self.strip(query)
        path: str = scope["path"]
        if ";" in path:
            raw = path.encode("utf-8", "surrogatepass")
            scope["path"] = self.strip_path(raw).decode("utf-8", "surrogatepass")
        raw_path = scope.get("raw_path")
        if raw_path and b";" in raw_path:
            scope["raw_path"] = self.strip_path(raw_path)
        if referer:
            cleaned = self.clean_referer(referer)
            if cleaned != referer:
                scope["headers"] = [(n, cleaned if n == b"referer" else v) for n, v in scope["headers"]]


def _normalise(key: bytes) -> bytes:
    """The name a lenient reader would see: decoded, case-folded, PHP-mangled, array suffix cut."""
    for _ in range(_DECODE_ROUNDS):
        if b"%" not in key and b"+" not in key:
            break
        key = unquote_to_bytes(key.replace(b"+", b" "))
    bracket = key.find(b"[")
    if bracket > 0:
        key = key[:bracket]  # gclid[]=1 and gclid[0]=1 are read as gclid by PHP, Rails and qs
    key = key.strip(b" \t\r\n\x00\x0b\x0c;")
    if not key.isascii():
        # Full-width letters and other compatibility forms fold to ASCII under NFKC.
        key = unicodedata.normalize("NFKC", key.decode("utf-8", "replace")).encode("utf-8")
    return key.lower().translate(_MANGLED)


def flagged_by_app(hook: MinorHook | None, scope: Scope) -> bool:
    """Ask the site's ``is_minor(scope)`` hook, treating a hook that raises as "minor" (fail safe)."""
    if hook is None:
        return False
    try:
        return bool(hook(scope))
    except Exception:
        # A bug in the site's hook must not expose a child to tracking: treat as minor, and say so loudly.
        logger.exception("is_minor hook raised; treating the visitor as under 14")
        return True

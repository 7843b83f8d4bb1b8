"""Rules for visitors under 14 (만 14세 미만): who counts as one, and what marketing data they never send.

개인정보 보호법 제22조의2 and the 맞춤형 광고 guideline: no behavioural data and no targeted advertising for
a child known to be under 14; marketing consent can only come from a legal guardian, so the gate treats
"accept all" from a minor as everything but targeting and cuts campaign/click identifiers from the URL
before the app (and its analytics) can store them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Final
from urllib.parse import unquote_to_bytes

from starlette.types import Scope

#: The response header an app sets to tell the gate "this visitor is a minor" (the gate strips it).
MINOR_RESPONSE_HEADER: Final = b"x-cookiegate-minor"

logger = logging.getLogger("cookiegate")

MinorHook = Callable[[Scope], bool]


class MarketingParams:
    """Removes marketing query parameters; exact names in a set, ``name*`` entries as prefixes."""

    __slots__ = ("_exact", "_prefixes")

    def __init__(self, names: Iterable[str]) -> None:
        exact: set[bytes] = set()
        prefixes: list[bytes] = []
        for name in names:
            encoded = name.lower().encode("ascii")
            if encoded.endswith(b"*"):
                prefixes.append(encoded[:-1])
            else:
                exact.add(encoded)
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)

    def is_marketing(self, key: bytes) -> bool:
        """Whether a raw query key names a marketing parameter (case-insensitive, percent-decoded)."""
        if b"%" in key or b"+" in key:
            key = unquote_to_bytes(key.replace(b"+", b" "))
        key = key.strip().lower()
        return key in self._exact or key.startswith(self._prefixes)

    def strip(self, query_string: bytes) -> bytes:
        """The query string without marketing parameters, other parameters untouched and in order.

        A bytes split costs ~2.5 µs where ``parse_qsl``/``urlencode`` cost ~14 µs and re-encode values.
        """
        if not query_string:
            return query_string
        parts = query_string.split(b"&")
        kept = [part for part in parts if part and not self.is_marketing(part.split(b"=", 1)[0])]
        if len(kept) == len(parts):
            return query_string
        return b"&".join(kept)


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

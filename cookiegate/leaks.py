"""Counts cookies the gate had to block, so a site owner learns which page leaks which cookie.

A blocked request cookie means a script set it without consent (or it outlived a withdrawal); a blocked
Set-Cookie means server code tried to set it. Both point at a page to fix or a name to classify.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Final, Literal

Direction = Literal["request", "response"]
_MAX_KEYS: Final = 10_000


class LeakCounter:
    """Thread-safe counts of ``(direction, cookie name, path)``; bounded so random names cannot grow it."""

    __slots__ = ("_counts", "_lock", "dropped")

    def __init__(self) -> None:
        self._counts: Counter[tuple[Direction, str, str]] = Counter()
        self._lock = threading.Lock()
        self.dropped = 0

    def count(self, direction: Direction, name: str, path: str) -> None:
        """Note one blocked cookie; past the bound new keys are only tallied in ``dropped``."""
        key = (direction, name[:128], path[:256])
        with self._lock:
            if key in self._counts or len(self._counts) < _MAX_KEYS:
                self._counts[key] += 1
            else:
                self.dropped += 1

    def drain(self) -> dict[tuple[Direction, str, str], int]:
        """The counts since the last drain (a writer persists them), resetting to zero."""
        with self._lock:
            counts, self._counts = dict(self._counts), Counter()
        return counts

    def snapshot(self) -> dict[tuple[Direction, str, str], int]:
        """The counts since the last drain, without resetting."""
        with self._lock:
            return dict(self._counts)

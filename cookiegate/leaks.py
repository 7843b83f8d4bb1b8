"""Counts cookies the gate had to block, so a site owner learns which page leaks which cookie.

A blocked request cookie means a script set it without consent (or it outlived a withdrawal); a blocked
Set-Cookie means server code tried to set it. Both point at a page to fix or a name to classify.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from typing import Final, Literal

Direction = Literal["request", "response"]
_MAX_KEYS: Final = 10_000
#: Requests noted between two drains. The writer drains every 30 s; without it (no access log) the
#: oldest notes fall off, so memory stays bounded either way.
_MAX_PENDING: Final = 100_000


class LeakCounter:
    """Counts of ``(direction, cookie name, path)``; bounded so random names cannot grow it.

    The request path only appends one tuple to a deque (atomic in CPython, ~0.1 µs, no lock); the
    counting happens in ``drain``, on the writer's thread.
    """

    __slots__ = ("_counts", "_lock", "_pending", "dropped")

    def __init__(self) -> None:
        self._pending: deque[tuple[Direction, Sequence[str], str]] = deque(maxlen=_MAX_PENDING)
        self._counts: Counter[tuple[Direction, str, str]] = Counter()
        self._lock = threading.Lock()
        self.dropped = 0

    def count_all(self, direction: Direction, names: Sequence[str], path: str) -> None:
        """Note the cookies one request had blocked."""
        self._pending.append((direction, names, path))

    def _fold(self) -> None:
        """Move pending notes into the counts (under ``_lock``)."""
        pending, counts = self._pending, self._counts
        while pending:
            direction, names, path = pending.popleft()
            path = path[:256]
            for name in names:
                key = (direction, name[:128], path)
                if key in counts or len(counts) < _MAX_KEYS:
                    counts[key] += 1
                else:
                    self.dropped += 1

    def drain(self) -> dict[tuple[Direction, str, str], int]:
        """The counts since the last drain (a writer persists them), resetting to zero."""
        with self._lock:
            self._fold()
            counts, self._counts = dict(self._counts), Counter()
        return counts

    def snapshot(self) -> dict[tuple[Direction, str, str], int]:
        """The counts since the last drain, without resetting."""
        with self._lock:
            self._fold()
            return dict(self._counts)

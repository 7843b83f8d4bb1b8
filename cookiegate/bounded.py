"""Caches whose memory stays flat: a plain dict that drops its oldest key once it holds ``bound`` of them.

The gate's caches used to ``clear()`` when full. Under a stream of distinct visitors that is a sawtooth: each
cache fills to its bound and empties again, every cache on its own period, so the live heap swings (by ~14 MB
for the soak's four largest caches, ``benchmarks/memory.py``) and the process's RSS creeps up as those peaks
happen to coincide and freed arenas stay pinned by the few objects that outlive a cycle (issue #11: +2.6% over
10 minutes). Dropping the oldest entry per insert keeps each cache at its bound once it is full, so what is
allocated after the warm-up replaces what was just freed.

Reads go to ``entries``, a plain ``dict``: a hit costs exactly what it did (a ``dict`` subclass would add
~180 instructions to every ``get``, callgrind). Only ``put`` of a new key runs Python (~0.3 µs), on a miss
that costs far more.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


class FifoCache(Generic[_K, _V]):
    """At most ``bound`` entries; ``put`` of a new key past it drops the oldest key first.

    FIFO rather than LRU: a hit then costs nothing extra, and what a cache of visitors loses by it is small
    (a returning visitor costs one recomputation when their entry reaches the front). Write only through
    ``put``; read ``entries`` directly (``get``, ``in``, ``[]``).
    """

    __slots__ = ("_order", "bound", "entries")

    def __init__(self, bound: int) -> None:
        if bound < 1:
            raise ValueError(f"a FifoCache needs a bound of at least 1, not {bound}")
        self.bound = bound
        self.entries: dict[_K, _V] = {}
        #: Keys in insertion order; a key deleted from ``entries`` by hand stays here until it reaches the front.
        self._order: deque[_K] = deque()

    def put(self, key: _K, value: _V) -> None:
        """Insert or replace ``key`` (a replaced key keeps its place in the order)."""
        entries = self.entries
        if key not in entries:
            order = self._order
            while len(entries) >= self.bound and order:
                entries.pop(order.popleft(), None)
            order.append(key)
        entries[key] = value

    def __len__(self) -> int:
        return len(self.entries)

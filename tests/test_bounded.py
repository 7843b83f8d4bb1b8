"""``FifoCache``: never more than its bound, the oldest key goes first, reads are a plain dict's."""

from __future__ import annotations

import pytest

from cookiegate.bounded import FifoCache


def test_stays_within_its_bound_under_many_distinct_keys() -> None:
    cache: FifoCache[bytes, int] = FifoCache(100)
    for n in range(10_000):
        cache.put(b"visitor-%d" % n, n)
        assert len(cache) <= 100
    # Full, not emptied: the newest 100 are all there (a cache that clears when full would hold 0-99 of them).
    assert sorted(cache.entries.values()) == list(range(9_900, 10_000))
    assert len(cache._order) == 100
    assert type(cache.entries) is dict  # reads stay on the C fast path


def test_drops_the_oldest_key_first_and_keeps_a_replaced_value_in_place() -> None:
    cache: FifoCache[str, int] = FifoCache(3)
    for key, value in (("a", 1), ("b", 2), ("c", 3), ("a", 10)):
        cache.put(key, value)  # "a" again: replaced, nothing dropped, keeps its place in the order
    assert cache.entries == {"a": 10, "b": 2, "c": 3}
    cache.put("d", 4)
    assert cache.entries == {"b": 2, "c": 3, "d": 4}


def test_a_key_deleted_by_hand_does_not_break_the_bound() -> None:
    cache: FifoCache[int, int] = FifoCache(2)
    cache.put(1, 1)
    cache.put(2, 2)
    del cache.entries[1]
    cache.put(1, 1)  # the stale first "1" in the order later drops this one early: harmless for a cache
    for key in range(3, 50):
        cache.put(key, key)
        assert len(cache) <= 2
    assert cache.entries == {48: 48, 49: 49}


def test_a_bound_below_one_is_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="at least 1, not 0"):
        FifoCache(0)

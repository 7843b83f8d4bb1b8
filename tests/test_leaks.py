"""Blocked-cookie counters: aggregated per page, bounded against random names and paths."""

from __future__ import annotations

import threading

from cookiegate.leaks import MAX_KEYS, MAX_PENDING, OTHER, Direction, LeakCounter, normalise_path


def test_counts_per_name_and_page() -> None:
    counter = LeakCounter()
    counter.count_all("request", ("_fbp", "_ga"), "/cart")
    counter.count_all("request", ("_fbp",), "/cart")
    assert counter.drain() == {("request", "_fbp", "/cart"): 2, ("request", "_ga", "/cart"): 1}
    assert counter.drain() == {}


def test_ids_in_paths_count_as_one_page() -> None:
    assert normalise_path("/order/12345/items") == "/order/:id/items"
    assert normalise_path("/u/3f2b8c1e-aa00-4c7b-9d1e-0123456789ab") == "/u/:id"
    assert normalise_path("/p/AbCdEf0123456789xyz") == "/p/:id"
    assert normalise_path("/a/b/c/d/e/f/g") == "/a/b/c/d/…"
    assert len(normalise_path("/" + "x" * 5000)) <= 128
    assert normalise_path("/shop/mugs") == "/shop/mugs"


def test_random_names_and_paths_fold_into_other() -> None:
    counter = LeakCounter()
    for i in range(MAX_KEYS * 3):
        counter.count_all("request", (f"rnd{i}x",), f"/page{i}z")
    counts = counter.drain()
    assert len(counts) == MAX_KEYS + 1
    assert counts[("request", OTHER, OTHER)] == MAX_KEYS * 2
    # Later drains keep the bound: keys admitted once stay, new random ones keep folding.
    for i in range(MAX_KEYS):
        counter.count_all("request", (f"new{i}x",), "/")
    counter.count_all("request", ("rnd0x",), "/page0z")
    later = counter.drain()
    assert later == {("request", OTHER, OTHER): MAX_KEYS, ("request", "rnd0x", "/page0z"): 1}


def test_long_names_are_cut() -> None:
    counter = LeakCounter()
    counter.count_all("response", ("n" * 5000,), "/")
    ((_, name, _),) = counter.drain()
    assert len(name) <= 65


def test_a_flood_of_distinct_pages_between_drains_is_still_counted_in_bounded_memory() -> None:
    counter = LeakCounter()
    for i in range(MAX_PENDING + 500):
        counter.count_all("request", ("_fbp",), f"/p{i}x")
    assert counter.pending_keys == MAX_PENDING
    counts = counter.drain()
    assert sum(counts.values()) == MAX_PENDING + 500  # nothing lost, only folded
    assert counts[("request", OTHER, OTHER)] >= 500
    assert counter.pending_keys == 0


def test_notes_counted_while_another_thread_drains_are_never_lost() -> None:
    counter = LeakCounter()
    drained: list[dict[tuple[Direction, str, str], int]] = []
    stop = threading.Event()

    def drain_often() -> None:
        while not stop.is_set():
            drained.append(counter.drain())

    thread = threading.Thread(target=drain_often)
    thread.start()
    try:
        for _ in range(20_000):
            counter.count_all("request", ("_fbp",), "/cart")
    finally:
        stop.set()
        thread.join()
    drained.append(counter.drain())
    assert sum(d.get(("request", "_fbp", "/cart"), 0) for d in drained) == 20_000

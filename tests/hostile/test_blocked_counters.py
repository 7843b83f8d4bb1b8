"""Floods aimed at the blocked-cookie counters: random names and paths must not grow them without bound.

Issue #9: random cookie names and paths (a crawler, an attacker) once added thousands of permanent rows a
minute. Through the whole gate, every blocked cookie is still counted, but into at most ``MAX_KEYS``
(direction, name, page) keys a day plus one ``(other)`` key per direction; names and pages are cut short, and
ids in paths fold into one page. (A flood can still fill the day's keys with junk; what it pushes out is
counted under ``(other)``, not lost.)
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from pathlib import Path

import pytest

from cookiegate.leaks import MAX_KEYS, OTHER
from tests.hostile.harness import allowed, assert_holds, http_scope, make_gate, recording_app, run
from tests.hostile.test_header_sizes import random_cookie_header

NONE = allowed(None)
#: Longest stored name and page: 64 characters (+ "…") and 128.
LONGEST_NAME, LONGEST_PAGE = 65, 128


def _word(rng: random.Random, size: int) -> str:
    return "".join(rng.choices(string.ascii_letters, k=size))


PATHS: dict[str, Callable[[random.Random], str]] = {
    "random words": lambda rng: f"/{_word(rng, 6)}/{_word(rng, 9)}",
    "ids and hashes": lambda rng: f"/order/{rng.randrange(10**9)}/item/{rng.getrandbits(128):032x}",
    "deep": lambda rng: "/" + "/".join(_word(rng, 3) for _ in range(60)),
    "one long segment": lambda rng: "/" + _word(rng, 5000),
    "percent junk": lambda rng: "/%" + "%".join(f"{rng.randrange(256):02X}" for _ in range(40)),
}


@pytest.mark.parametrize("shape", list(PATHS))
def test_random_names_on_random_pages_fold_into_bounded_keys(tmp_path: Path, shape: str) -> None:
    gate = make_gate(tmp_path, recording_app())
    rng = random.Random(shape)
    requests, names_each = 30, 100  # 3,000 distinct names on 30 pages: past MAX_KEYS
    for i in range(requests):
        outcome = run(gate, http_scope(PATHS[shape](rng), headers=[(b"cookie", random_cookie_header(names_each, i))]))
        assert_holds(outcome, NONE)
    counts = gate.services.leaks.snapshot()
    assert sum(counts.values()) == requests * names_each, "every blocked cookie is still counted"
    assert len(counts) <= MAX_KEYS + 1
    assert counts[("request", OTHER, OTHER)] == requests * names_each - MAX_KEYS, "past the cap: one key"
    assert all(len(name) <= LONGEST_NAME and len(page) <= LONGEST_PAGE for _, name, page in counts)
    if shape == "ids and hashes":
        assert {page for _, _, page in counts} == {"/order/:id/item/:id", OTHER}, "ids fold into one page"


def test_huge_cookie_names_are_cut_before_counting(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, recording_app([(b"set-cookie", b"_" + b"s" * 3000 + b"=1")]))
    header = b"; ".join(b"%s=1" % (b"x%d" % i + b"n" * 3000) for i in range(20))
    outcome = run(gate, http_scope(headers=[(b"cookie", header)]))
    assert_holds(outcome, NONE)
    counts = gate.services.leaks.snapshot()
    assert {direction for direction, _, _ in counts} == {"request", "response"}
    assert all(len(name) <= LONGEST_NAME for _, name, _ in counts)

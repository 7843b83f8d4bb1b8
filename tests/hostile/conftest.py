"""The hostile suite's gates run without a lifespan: stop their services after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.harness import OPEN_GATES


@pytest.fixture(autouse=True)
def _stop_gates() -> Iterator[None]:
    """One ingest process per gate would otherwise live until pytest exits (hundreds, polling, by the end)."""
    yield
    while OPEN_GATES:
        OPEN_GATES.pop().stop_services()

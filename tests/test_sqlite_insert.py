"""Multi-row inserts store every row of a batch of any size exactly once, in order, values intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cookiegate.stores.sqlite_insert import STATEMENT_ROWS, insert_rows, insert_sql

COLUMNS = ("ts_ms", "client_ip", "client", "record")


def _rows(count: int) -> list[tuple[int, str | None, str, str]]:
    return [
        (1_700_000_000_000 + i, None if i % 7 == 0 else f"203.0.113.{i % 256}", "", f'[{i},"x\\u0000y",null]')
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [0, 1, 3, 4, 5, 17, 63, 64, 65, 150, 1300])
def test_a_batch_of_any_size_is_stored_once_in_order(tmp_path: Path, count: int) -> None:
    conn = sqlite3.connect(tmp_path / "log.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE access_day (ts_ms INTEGER NOT NULL, client_ip TEXT, client TEXT NOT NULL, record TEXT)")
    rows = _rows(count)

    conn.execute("BEGIN")
    insert_rows(conn, "access_day", COLUMNS, rows)
    conn.execute("COMMIT")

    stored = conn.execute("SELECT ts_ms, client_ip, client, record FROM access_day ORDER BY rowid").fetchall()
    assert stored == rows
    conn.close()


def test_a_failing_row_leaves_the_whole_batch_to_the_callers_rollback(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "log.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE access_day (ts_ms INTEGER NOT NULL, client_ip TEXT, client TEXT NOT NULL, record TEXT)")
    rows: list[tuple[object, ...]] = list(_rows(100))
    rows[80] = (None, "203.0.113.1", "", "[]")  # NOT NULL violated in the 16-row statement

    conn.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError):
        insert_rows(conn, "access_day", COLUMNS, rows)
    conn.execute("ROLLBACK")

    assert conn.execute("SELECT count(*) FROM access_day").fetchone() == (0,)
    conn.close()


def test_statements_come_in_a_few_fixed_sizes_ending_with_one_row() -> None:
    assert STATEMENT_ROWS[-1] == 1
    assert list(STATEMENT_ROWS) == sorted(STATEMENT_ROWS, reverse=True)
    assert insert_sql("t", ("a", "b"), 2) == "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"

"""Many rows into one SQLite table with multi-row ``INSERT`` statements: the ingester's bulk write.

``executemany`` of a one-row ``INSERT`` pays the sqlite3 module's per-call work and a VM step per row; an
``INSERT … VALUES (…), (…), …`` of 64 rows binds the same values but pays both once per 64 rows: ~9.1k → ~6.0k
instructions per access row (callgrind, ``benchmarks/instructions.py``). A few fixed statement sizes (64, 16,
4, 1 rows) keep the prepared statements per table to four, so a batch of any size is cut into them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Final

#: Statement sizes in rows, largest first; the last must be 1 so that every batch can be cut into them.
STATEMENT_ROWS: Final = (64, 16, 4, 1)


def insert_sql(table: str, columns: Sequence[str], rows: int) -> str:
    """``INSERT INTO table (columns) VALUES (?, …), …`` for ``rows`` rows."""
    one = "(" + ", ".join("?" * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * rows)}"


def insert_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Insert ``rows`` (each with one value per column) into ``table``, in the caller's transaction."""
    width = len(columns)
    start = 0
    for size in STATEMENT_ROWS:
        count = (len(rows) - start) // size
        if not count:
            continue
        stop = start + count * size
        if size == 1:
            conn.executemany(insert_sql(table, columns, 1), rows[start:stop])
        else:
            values = list(chain.from_iterable(rows[start:stop]))
            step = width * size
            conn.executemany(
                insert_sql(table, columns, size), [values[at : at + step] for at in range(0, len(values), step)]
            )
        start = stop

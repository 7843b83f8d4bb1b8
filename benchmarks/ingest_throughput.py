"""Records/s the ingester's store call moves: PostgreSQL ``COPY`` vs SQLite ``executemany``, same batches.

    .venv/bin/python benchmarks/ingest_throughput.py [--records 500000] [--batch 10000] [--fsync]

Both stores are the real ones (``PostgresAccessStore`` on a throwaway cluster started here, ``SQLiteAccessStore``
in a temp file), each batch committed with its spool offset as the ingester does. The records are built before
the clock starts, so the figure is the store's cost alone (spool parsing is measured by the ingest benchmarks).
Target (issue #8): PostgreSQL ``COPY`` >= 100k records/s on this machine.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cookiegate.records.types import AccessRecord
from cookiegate.stores import open_access_store
from tests.pg_support import running_cluster


def records(count: int, start_ms: int) -> list[AccessRecord]:
    """A realistic mix: one Seoul day, varied addresses and paths, a forwarded chain on a third."""
    return [
        AccessRecord(
            ts_ms=start_ms + n,
            client_ip=f"203.0.{(n >> 8) & 255}.{n & 255}",
            client_port=40_000 + n % 20_000,
            peer_ip="10.0.0.2",
            forwarded_chain=f"203.0.{(n >> 8) & 255}.{n & 255}, 10.0.0.2" if n % 3 == 0 else None,
            host="shop.example.kr",
            method="GET" if n % 10 else "POST",
            path=f"/products/{n % 50_000}",
            status=200 if n % 20 else 404,
            protocol="HTTP/1.1",
            sent_bytes=5120 + n % 4096,
            duration_us=850 + n % 3000,
            outcome="ok",
        )
        for n in range(count)
    ]


def timed_ingest(url: str, batches: list[list[AccessRecord]]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (the ingester's own cost; the server's is not in it)."""
    store = open_access_store(url, create=True)
    try:
        began, cpu = time.perf_counter(), time.process_time()
        for i, batch in enumerate(batches, 1):
            store.ingest(batch, segment="bench", offset=i)
        return time.perf_counter() - began, time.process_time() - cpu
    finally:
        store.close()


def raw_sqlite(path: Path, batches: list[list[AccessRecord]]) -> tuple[float, float]:
    """The engine alone, as the SQLite store uses it: WAL, synchronous=NORMAL, one executemany per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE access ({', '.join(AccessRecord._fields)})")
    conn.execute("CREATE TABLE progress (segment TEXT PRIMARY KEY, offset INTEGER)")
    insert = f"INSERT INTO access VALUES ({', '.join('?' * len(AccessRecord._fields))})"
    began, cpu = time.perf_counter(), time.process_time()
    for i, batch in enumerate(batches):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, batch)
        conn.execute("INSERT OR REPLACE INTO progress VALUES ('bench', ?)", (i,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began, time.process_time() - cpu
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--fsync", action="store_true", help="run the cluster with fsync=on (default off)")
    args = parser.parse_args()
    now_ms = time.time_ns() // 1_000_000
    rows = records(args.records, now_ms - 3_600_000)
    batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)]
    results: dict[str, tuple[float, float]] = {}
    with running_cluster(fsync=args.fsync) as cluster:
        url = cluster.url(cluster.create_database())
        results["postgresql COPY"] = timed_ingest(url, batches)
    folder = Path(tempfile.mkdtemp(prefix="cookiegate-ingest-bench-"))
    try:
        try:
            results["sqlite store"] = timed_ingest(f"sqlite:///{folder / 'store.db'}", batches)
        except sqlite3.Error as exc:  # report it, and still give the engine's figure below
            print(f"SQLiteAccessStore failed: {exc}")
        results["sqlite executemany"] = raw_sqlite(folder / "raw.db", batches)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{args.records:,} records in batches of {args.batch:,} (fsync {'on' if args.fsync else 'off'}):")
    for name, (seconds, cpu) in results.items():
        print(
            f"  {name:<20} {args.records / seconds:>10,.0f} records/s  ({seconds:.2f} s;"
            f" client CPU {cpu / args.records * 1e6:.2f} µs/record)"
        )


if __name__ == "__main__":
    main()

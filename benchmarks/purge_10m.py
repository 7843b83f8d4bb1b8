"""Build a 3-month access log of 10 million records in SQLite, then time the purges that retention runs.

    .venv/bin/python benchmarks/purge_10m.py [--records 10000000] [--dir /tmp/cookiegate-purge-bench]

Records are spread evenly over 3 months + 7 days before a frozen "now", so the first purge drops 7 Seoul
days (the catch-up a site does after a week without purging) and the next one a single day (the daily run).
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

from cookiegate.clock import SEOUL, Clock, to_ms
from cookiegate.records.retention import purge, retention_cutoff
from cookiegate.records.types import AccessRecord
from cookiegate.stores.sqlite_access import SQLiteAccessStore

NOW = datetime(2025, 5, 15, 10, tzinfo=SEOUL)


def stopped_at(moment: datetime) -> Clock:
    """A clock that always reads ``moment``: each purge runs at its own frozen "now"."""
    return lambda: moment


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/cookiegate-purge-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    db = args.dir / "access.db"
    store = SQLiteAccessStore(db, create=True)
    start_ms = to_ms(retention_cutoff(NOW, 3) - timedelta(days=7))
    span = to_ms(NOW) - start_ms
    step = span / args.records
    began = time.perf_counter()
    batch: list[AccessRecord] = []
    for n in range(args.records):
        ip = f"203.0.{(n >> 8) & 255}.{n & 255}"
        batch.append(AccessRecord(start_ms + int(n * step), ip, 51234, "10.0.0.2", ip, "shop.example.kr", "GET",
                                  f"/products/{n % 50_000}", 200, "HTTP/1.1", 5120, 850, "ok"))  # fmt: skip
        if len(batch) == 10_000:
            store.ingest(batch, segment="bench", offset=n)
            batch.clear()
    if batch:
        store.ingest(batch, segment="bench", offset=args.records)
    built = time.perf_counter() - began
    size = sum(p.stat().st_size for p in args.dir.iterdir())
    rate = args.records / built
    print(f"built {args.records:,} records in {built:.1f} s ({rate:,.0f} rows/s), {size / 2**30:.2f} GiB")

    for label, now in (("catch-up purge (7 days)", NOW), ("daily purge (1 day)", NOW + timedelta(days=1))):
        began = time.perf_counter()
        result = purge(store, months=3, clock=stopped_at(now), grace_days=0)  # the 7 days past the bare period
        took = time.perf_counter() - began
        print(f"{label}: removed {result.removed:,} records in {result.partitions_dropped} partitions, {took:.2f} s")
    began = time.perf_counter()
    count = store.count(0, 2**62)
    print(f"count of remaining {count:,} records: {time.perf_counter() - began:.2f} s")
    store.close()
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()

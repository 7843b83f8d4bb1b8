"""How long the PostgreSQL purge takes to destroy a 1M-record Seoul day: ``DETACH`` + ``DROP`` vs ``DELETE``.

    .venv/bin/python benchmarks/purge_partition.py [--records 1000000] [--rounds 3] [--compare-delete]

Each round fills one day partition four months back with ``--records`` records (plus today's, which stays),
then times ``PostgresAccessStore.purge_before`` at that day's end: count, hold check, detach, drop, audit line,
commit. ``--compare-delete`` times a row-by-row ``DELETE`` of the same day for contrast.
Target (issue #8): <= 100 ms for a 1M-record day.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from ingest_throughput import records

from cookiegate.stores.postgres_access import PostgresAccessStore
from tests.pg_support import running_cluster

DAY_MS = 86_400_000


def compare_delete(store: PostgresAccessStore, url: str, now_ms: int) -> None:
    """The row-by-row alternative on a fresh day, rolled back: what the partitions spare the big table."""
    day_start = (now_ms + 9 * 3_600_000) // DAY_MS * DAY_MS - 9 * 3_600_000 - 200 * DAY_MS
    count = 1_000_000
    for i in range(0, count, 50_000):
        store.ingest(records(50_000, day_start + i), segment="delete", offset=i + 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        began = time.perf_counter()
        with conn.transaction():
            deleted = conn.execute(
                "DELETE FROM cookiegate_access.access_log WHERE ts_ms >= %s AND ts_ms < %s",
                (day_start, day_start + DAY_MS),
            ).rowcount
            elapsed = time.perf_counter() - began
            raise psycopg.Rollback()
    print(f"row-by-row DELETE of {deleted:,} records (rolled back): {elapsed * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare-delete", action="store_true")
    args = parser.parse_args()
    now_ms = time.time_ns() // 1_000_000
    timings: list[float] = []
    with running_cluster() as cluster:
        url = cluster.url(cluster.create_database())
        store = PostgresAccessStore(url, create=True)
        store.ingest(records(10_000, now_ms - 60_000), segment="today", offset=1)
        for round_no in range(args.rounds):
            # Seoul midnight ~120 days back (UTC+9, no DST since 1988), minus a day per round.
            day_start = (now_ms + 9 * 3_600_000) // DAY_MS * DAY_MS - 9 * 3_600_000 - (120 + round_no) * DAY_MS
            day = records(args.records, day_start)
            for i in range(0, len(day), 50_000):
                store.ingest(day[i : i + 50_000], segment=f"day{round_no}", offset=i + 1)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")  # the fill's WAL and dirty pages do not land on the purge's clock
                size = conn.execute(
                    "SELECT pg_total_relation_size(format('cookiegate_access.%%I', name)::regclass)"
                    " FROM cookiegate_access.partitions WHERE start_ms = %s",
                    (day_start,),
                ).fetchone()
            began = time.perf_counter()
            result = store.purge_before(day_start + DAY_MS, now_ms=now_ms)
            elapsed = time.perf_counter() - began
            timings.append(elapsed)
            assert result.removed == args.records and result.partitions_dropped >= 1, result
            print(
                f"round {round_no + 1}: purged {result.removed:,} records, {result.partitions_dropped} partition(s) "
                f"({size[0] / 2**20 if size else 0:.0f} MiB) dropped in {elapsed * 1000:.1f} ms"
            )
        assert store.count(0, 2**62) == 10_000, "today's records must survive"
        if args.compare_delete:
            compare_delete(store, url, now_ms)
        store.close()
    print(
        f"purge of a {args.records:,}-record day: median {statistics.median(timings) * 1000:.1f} ms, "
        f"best {min(timings) * 1000:.1f} ms over {len(timings)} rounds"
    )


if __name__ == "__main__":
    main()

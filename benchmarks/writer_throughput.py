"""What the access log costs: µs per ``log()`` call on the request path, and records/s the writer stores.

    .venv/bin/python benchmarks/writer_throughput.py [--records 200000]

1. hot path: ``AccessLogWriter.log`` with a realistic scope (orjson line + one O_APPEND ``os.write``), writer
   thread not running, so the figure is the request-path cost alone;
2. writer: the same spool ingested into a fresh SQLite store (parse, trusted-proxy resolution, cached
   User-Agent lookup, ``executemany`` 1000 rows per transaction), timed from start() to the end of stop().
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from cookiegate.accesslog import AccessLogWriter, TrustedProxies
from cookiegate.consent import Consent
from cookiegate.stores.sqlite import SQLiteAccessStore

UAS = [
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0 Safari/537.36"
    for v in range(100, 150)
]
CONSENT = Consent(granted=frozenset({"necessary", "analytics"}), version="2025-05", consent_id="c", chosen=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cookiegate-bench-"))
    db = root / "access.db"
    writer = AccessLogWriter(
        lambda: SQLiteAccessStore(db), root / "spool", trusted_proxies=TrustedProxies(("10.0.0.0/8",))
    )
    scopes = [
        {"type": "http", "method": "GET", "path": f"/products/{i}", "http_version": "1.1",
         "client": ("10.0.0.2", 40000 + i), "headers": [
             (b"host", b"shop.example.kr"), (b"user-agent", UAS[i % len(UAS)].encode()), (b"accept", b"*/*"),
             (b"accept-language", b"ko-KR,ko;q=0.9"), (b"cookie", b"cookiegate=abc; sid=xyz")]}
        for i in range(1000)
    ]  # fmt: skip
    uas = [s["headers"][1][1] for s in scopes]
    xffs = [f"198.51.{i % 256}.{i % 200}".encode() for i in range(1000)]
    log = writer.log
    started = time.perf_counter_ns()
    began = time.perf_counter_ns()
    for n in range(args.records):
        i = n % 1000
        log(scopes[i], 200, 5120, started, CONSENT, uas[i], xffs[i], None)
    per_call = (time.perf_counter_ns() - began) / args.records / 1000
    print(f"hot path: {per_call:.2f} µs per log() call ({args.records:,} calls, spool on {root})")

    began = time.perf_counter_ns()
    writer.start()
    writer.stop()
    took = (time.perf_counter_ns() - began) / 1e9
    stored = SQLiteAccessStore(db).count(0, 2**62)
    print(f"writer: {stored:,} records stored in {took:.2f} s = {stored / took:,.0f} records/s")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()

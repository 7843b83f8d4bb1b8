"""Does the access log writer hold its memory flat? RSS of one process logging and storing ~1M records.

    .venv/bin/python benchmarks/writer_soak.py [--records 1000000] [--rate 20000] [--ua-variety 3000]
    .venv/bin/python benchmarks/writer_soak.py --rate 10000 --interval 0.01   # the live server's small cycles, 20x

The main thread plays the event loop: it calls ``AccessLogWriter.log`` at ``--rate`` records/s with a new
visitor per record (random client address and port, random path, a User-Agent drawn from ``--ua-variety``
distinct strings, as the Locust soak does) while the real writer thread stores the spool in SQLite. VmRSS
(from ``/proc/self/status``, so it counts what tracemalloc cannot see: malloc arenas, SQLite's page cache,
mmapped files) is printed every ``--every`` records. After ``--warmup`` of the records (the User-Agent cache
and SQLite's page cache fill up) the verdict is whether every later sample stays within ±5 % of the first.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from visitors import browser_user_agent

from cookiegate.accesslog import AccessLogWriter, TrustedProxies
from cookiegate.consent import Consent
from cookiegate.stores.sqlite import SQLiteAccessStore

CONSENTS = (
    Consent(granted=frozenset({"necessary"}), version="2025-05", consent_id="a", chosen=True),
    Consent(granted=frozenset({"necessary", "analytics"}), version="2025-05", consent_id="b", chosen=True),
    Consent(granted=frozenset({"necessary", "functional", "analytics", "targeting"}), version="2025-05",
            consent_id="c", chosen=True, gpc=True),
)  # fmt: skip


def user_agent(index: int) -> bytes:
    """The same distinct, realistic User-Agents the Locust visitors send."""
    return browser_user_agent(index).encode()


def rss_kib() -> int:
    """Resident set size of this process in KiB (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=20_000.0, help="records per second (0: as fast as possible)")
    parser.add_argument("--ua-variety", type=int, default=3000)
    parser.add_argument("--every", type=int, default=50_000, help="sample RSS every N records")
    parser.add_argument("--warmup", type=float, default=0.3, help="share of the records before the baseline")
    parser.add_argument("--interval", type=float, default=None,
                        help="writer wake-up interval in s (default: the writer's); rate x interval = rows per cycle")
    parser.add_argument("--proxies", action="store_true", help="a trusted proxy in front, X-Forwarded-For per record")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="cookiegate-soak-"))
    db = root / "access.db"
    proxies = TrustedProxies(("10.0.0.0/8",) if args.proxies else ())
    writer = AccessLogWriter(lambda: SQLiteAccessStore(db), root / "spool", trusted_proxies=proxies)
    if args.interval is not None:
        writer.interval = args.interval
    agents = [user_agent(i) for i in range(args.ua_variety)]
    paths = ["/", "/products", "/cart", "/checkout", "/search", "/blog"]
    rng = random.Random(7)
    writer.start()
    samples: list[tuple[int, float, int]] = []
    began = time.perf_counter()
    pace = 1.0 / args.rate if args.rate else 0.0
    try:
        for n in range(args.records):
            if pace and n % 100 == 0:
                ahead = began + n * pace - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)
            peer = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            scope = {
                "type": "http", "method": "GET", "path": f"{rng.choice(paths)}/{rng.randrange(100_000)}",
                "http_version": "1.1", "client": ("10.0.0.2" if args.proxies else peer, rng.randrange(1024, 65536)),
                "headers": [(b"host", b"shop.example.kr"), (b"accept", b"text/html")],
            }  # fmt: skip
            forwarded_for = peer.encode() if args.proxies else None
            writer.log(scope, 200, 5120, time.perf_counter_ns(), rng.choice(CONSENTS), rng.choice(agents),
                       forwarded_for, None)  # fmt: skip
            if (n + 1) % args.every == 0:
                samples.append((n + 1, time.perf_counter() - began, rss_kib()))
                print(f"{n + 1:>10,} records  {samples[-1][1]:7.1f} s  RSS {samples[-1][2] / 1024:7.1f} MiB"
                      f"  backlog {writer.backlog_bytes / 1e6:6.1f} MB", flush=True)  # fmt: skip
    finally:
        writer.stop()
    print(f"stopped: {writer.stored:,} stored, {writer.dropped} dropped, RSS {rss_kib() / 1024:.1f} MiB")
    shutil.rmtree(root)

    settled = [s for s in samples if s[0] > args.records * args.warmup]
    if len(settled) < 2:
        raise SystemExit("too few samples after the warm-up: raise --records or lower --every")
    base = settled[0][2]
    drift = [(rss - base) / base * 100 for _, _, rss in settled]
    worst = max(drift, key=abs)
    slope = (settled[-1][2] - base) / 1024 / ((settled[-1][0] - settled[0][0]) / 1e6)
    verdict = "FLAT" if all(abs(d) <= 5.0 for d in drift) else "GROWS"
    print(f"after warm-up: baseline {base / 1024:.1f} MiB, worst drift {worst:+.1f} %, "
          f"{slope:+.2f} MiB per million records -> {verdict} (±5 %)")  # fmt: skip


if __name__ == "__main__":
    main()

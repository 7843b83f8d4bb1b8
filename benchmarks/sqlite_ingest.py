"""What the statutory access log costs: the request-path append, and the ingest process per record (SQLite).

    .venv/bin/python benchmarks/sqlite_ingest.py [--records 200000]
    .venv/bin/python benchmarks/sqlite_ingest.py --callgrind        # instructions per record, deterministic

1. append: ``AccessLog.log`` with a browser-like scope (orjson payload, crc32 frame, one O_APPEND ``os.write``),
   nothing else running: the request-path cost alone, in µs per call;
2. ingest: the same spool stored by ``Ingester.drain`` into a fresh SQLite store (frame parse, decode,
   trusted-proxy resolution, ``executemany`` per 256 KiB chunk, offset committed with the rows), records/s.

``--callgrind`` runs the append + ingest of N and 3N records under ``valgrind --tool=callgrind`` and reports the
difference / 2N: instructions per record for the log's whole cost, with interpreter start-up cancelled out.
``--keys`` does the same with client addresses sealed at rest (a generated key file, 제29조).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cookiegate.consent import Consent
from cookiegate.keyfile import KEY_FILE_ENV, configured_keyring, generate
from cookiegate.records.accesslog import AccessLog
from cookiegate.records.channels import spool_root
from cookiegate.records.ingest import IngestConfig, Ingester
from cookiegate.records.sealing import RecordSealer
from cookiegate.records.status import save_trusted_proxies
from cookiegate.stores import default_urls

CONSENT = Consent(granted=frozenset({"necessary", "analytics"}), version="2025-05", consent_id="c", chosen=True)
HEADERS = [
    (b"host", b"shop.example.kr"),
    (b"user-agent", b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"),
    (b"accept", b"text/html,application/xhtml+xml"),
    (b"accept-language", b"ko-KR,ko;q=0.9"),
    (b"cookie", b"cookiegate_consent=abc; _ga=GA1.2.3"),
]


def append(data: Path, records: int) -> float:
    """Spool ``records`` requests; returns seconds spent in ``log``."""
    save_trusted_proxies(data, ["10.0.0.0/8"])
    sink = AccessLog(spool_root(data) / "access")
    keys = configured_keyring(data)
    sink.sealer = None if keys is None else RecordSealer(keys)
    scopes = [
        {"type": "http", "method": "GET", "path": f"/products/{i % 500}", "http_version": "1.1",
         "client": ("10.0.0.2", 40000 + i % 20000), "headers": HEADERS}
        for i in range(min(records, 1000))
    ]  # fmt: skip
    chains = [f"203.0.113.{i % 250}".encode() for i in range(1000)]
    started = time.perf_counter()
    for i in range(records):
        sink.log(scopes[i % 1000], 200, 5120, time.perf_counter_ns(), CONSENT, b"", chains[i % 1000], None, "ok")
    elapsed = time.perf_counter() - started
    sink.close()
    assert sink.dropped == 0
    return elapsed


def ingest(data: Path) -> tuple[int, float]:
    access, ledger, aggregates = default_urls(data)
    ingester = Ingester(IngestConfig(data, access, ledger, aggregates, 3, create=True))
    started = time.perf_counter()
    stored = ingester.drain()
    elapsed = time.perf_counter() - started
    ingester.close()
    return stored, elapsed


def measure(records: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cookiegate-ingest-") as root:
        data = Path(root)
        access, ledger, aggregates = default_urls(data)
        Ingester(IngestConfig(data, access, ledger, aggregates, 3, create=True)).close()
        appended = append(data, records)
        stored, ingested = ingest(data)
    print(f"append: {appended / records * 1e6:.2f} µs per record ({records} records)")
    print(f"ingest: {stored / ingested:,.0f} records/s into SQLite ({stored} records in {ingested:.2f} s)")


def run_phase(phase: str, records: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cookiegate-ingest-") as root:
        data = Path(root) / "data"
        if os.environ.get(KEY_FILE_ENV) == "generate":  # a fresh key file beside (not inside) the data dir
            os.environ[KEY_FILE_ENV] = str(Path(root) / "keys.json")
            generate(Path(root) / "keys.json")
        append(data, records)
        if phase == "both":
            ingest(data)


def callgrind(records: int, phase: str, *, keys: bool) -> None:
    env = {**os.environ, KEY_FILE_ENV: "generate"} if keys else None
    totals = []
    for n in (records, 3 * records):
        with tempfile.TemporaryDirectory(prefix="cookiegate-cg-") as root:
            out = Path(root) / "callgrind.out"
            subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                 "--phase", phase, "--records", str(n)],
                check=True, capture_output=True, env=env,
            )  # fmt: skip
            found = re.search(rb"^(?:summary|totals): (\d+)", out.read_bytes(), re.M)
            if found is None:
                raise RuntimeError(f"callgrind wrote no summary line to {out}")
            totals.append(int(found.group(1)))
    per_record = (totals[1] - totals[0]) / (2 * records)
    what = ("append + ingest" if phase == "both" else "append only") + (", addresses sealed" if keys else "")
    print(f"callgrind: {per_record:,.0f} instructions per record, {what} ({records} vs {3 * records})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--append-only", action="store_true", help="with --callgrind: the request path alone")
    parser.add_argument("--keys", action="store_true", help="with --callgrind: addresses sealed at rest")
    parser.add_argument("--phase", choices=["both", "append"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args.phase, args.records)
    elif args.callgrind:
        phase = "append" if args.append_only else "both"
        callgrind(args.records if args.records != 200_000 else 3000, phase, keys=args.keys)
    else:
        measure(args.records)


if __name__ == "__main__":
    main()

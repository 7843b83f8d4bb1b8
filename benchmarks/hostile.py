"""CPU per request of the hostile inputs issue #9 bounded: a 60 KB Cookie header, User-Agent floods, huge queries.

    .venv/bin/python benchmarks/hostile.py [--repeats 7]

Prints, for each case next to an ordinary request, the median thread CPU per request and the largest block of
response headers the client got. The tests bound the same cases by counting function calls (deterministic);
this prints the time the bound buys. Issue #9's figures: <= 8 ms and <= 16 KB of response headers for a 60 KB
header of 4,000 random names (it cost ~30 ms and 332 KB of expiry headers before the caps); a site with
cookie domains expires each name once per domain, so that case is run with three.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.types import Scope

from cookiegate import CookieGate, useragents
from tests.hostile.harness import (
    MAX_RESPONSE_HEADER_BYTES,
    consent_cookie,
    http_scope,
    make_gate,
    recording_app,
    run,
)
from tests.hostile.test_header_sizes import random_cookie_header

HTML = recording_app(body=b"<!doctype html><html><head></head><body>x</body></html>", content_type=b"text/html")


def random_agent(seed: int) -> bytes:
    rng = random.Random(seed)
    return f"Mozilla/{seed} ({''.join(rng.choices(string.ascii_letters + ' ;/()', k=180))})".encode()


FLOOD = "60 KB Cookie header, 4,000 random names"
#: Cases run on a second gate configured with cookie domains (each blocked name is expired per domain).
WITH_DOMAINS = {f"{FLOOD}, 3 cookie domains": FLOOD}
COOKIE_DOMAINS = (".shop.test", "shop.test", ".cdn.shop.test")

CASES: dict[str, Callable[[int], Scope]] = {
    "ordinary request (3 cookies)": lambda i: http_scope(headers=[(b"cookie", b"session=%d; _ga=1; _fbp=2" % i)]),
    FLOOD: lambda i: http_scope(headers=[(b"cookie", random_cookie_header(4000, i))]),
    "new random User-Agent on an HTML page": lambda i: http_scope(
        headers=[(b"user-agent", random_agent(i)), (b"accept", b"text/html")]
    ),
    "a child's query of 20,000 parameters": lambda i: http_scope(
        query=b"&".join(b"k%d=%d" % (k, i) for k in range(20_000)) + b"&gclid=1",
        headers=[(b"cookie", consent_cookie(None, under14=True))],
    ),
}


def measure(gate: CookieGate, make_scope: Callable[[int], Scope], repeats: int) -> tuple[float, int]:
    """The median thread CPU per request (ms) and the largest response-header block (bytes) of ``repeats``."""
    times, sizes = [], []
    for i in range(repeats):
        scope = make_scope(i)
        started = time.thread_time()
        outcome = run(gate, scope)
        times.append(time.thread_time() - started)
        sizes.append(outcome.header_bytes())
    return statistics.median(times) * 1000, max(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="requests per case (the median is printed)")
    args = parser.parse_args()
    useragents.warm()
    with tempfile.TemporaryDirectory() as tmp:
        gate = make_gate(Path(tmp) / "plain", HTML)
        with_domains = make_gate(Path(tmp) / "domains", HTML, cookie_domains=COOKIE_DOMAINS)
        cases = [(label, gate, make) for label, make in CASES.items()]
        cases += [(label, with_domains, CASES[base]) for label, base in WITH_DOMAINS.items()]
        for warm in (gate, with_domains):
            run(warm, http_scope())
        for label, target, make_scope in cases:
            cpu_ms, header_bytes = measure(target, make_scope, args.repeats)
            over = "  OVER the 16 KB bound" if header_bytes > MAX_RESPONSE_HEADER_BYTES else ""
            print(f"{label:62s} {cpu_ms:7.2f} ms CPU per request {header_bytes:7,d} B response headers{over}")


if __name__ == "__main__":
    main()

"""Where the gate's HTTP time goes beyond instructions: simulated cache and branch misses per request, over HTTP.

    .venv/bin/python benchmarks/stalls.py [--variants bare,gated] [--warmup 240] [--seconds 150] [--users 4]

Over HTTP the gate adds ~10 % server CPU but only ~3-6 % instructions: each instruction it adds costs more than
an average one. This runs each variant's uvicorn server (CPU 0) under ``valgrind --tool=callgrind
--cache-sim=yes --branch-sim=yes``, drives it with the benchmark's Locust mix (CPU 1, a few users: the server
is ~100x slower under simulation and must not time requests out), zeroes the counters after ``--warmup``
seconds and dumps them ``--seconds`` later. The warm-up is long because the gate compiles its User-Agent
matchers on a background thread at start-up: under the simulator, with two servers sharing a core, that takes
minutes, and inside the window it would show as regex-compile misses (``min_max``, ``make_range_object``). It prints
per request: instructions, L1 instruction and data misses, last-level misses and mispredicted branches, then
the functions whose own (exclusive) misses grew most from the first variant to the second.

The simulated caches are this machine's L1 (I and D) and its per-core L2 as the last level (``--ll``): the L2 is
what one server's working set competes for; the shared L3 is far larger. Variants run at the same time, both on
CPU 0, as ``run.py``'s paired phase does. Takes ``warmup + seconds`` plus ~2 minutes; needs valgrind.
Only the server process is simulated: the gate's ingest process (~0.5 µs a request, see README) is not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from builds import BUILDS, prepare  # noqa: E402
from callgrind import Costs, read_costs  # noqa: E402
from run import await_serving, free_port, locust_command, make_tokens, pinning, served, uvicorn_command  # noqa: E402

KEY: Final = "cookiegate-stalls-key-0123456789"
#: Events printed per request, in this order (callgrind's names with ``--cache-sim`` and ``--branch-sim``).
SHOWN: Final = ("Ir", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw", "Bcm", "Bim")
#: What the function ranking adds up: every miss and mispredict, each a stall of tens of cycles or more.
STALLS: Final = ("I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw", "Bcm", "Bim")


def per_request(costs: Costs, requests: int) -> dict[str, float]:
    return {event: costs.totals.get(event, 0) / requests for event in SHOWN}


def ranked(
    first: Costs, first_requests: int, second: Costs, second_requests: int, top: int
) -> list[tuple[str, dict[str, float]]]:
    """The ``top`` functions whose stalls per request grew most from ``first`` to ``second`` (per event)."""
    rows: list[tuple[float, str, dict[str, float]]] = []
    for name in first.functions.keys() | second.functions.keys():
        grown: dict[str, float] = {}
        for event in SHOWN:
            before = _own(first, name, event) / first_requests
            after = _own(second, name, event) / second_requests
            grown[event] = after - before
        rows.append((sum(grown[event] for event in STALLS), name, grown))
    rows.sort(key=lambda row: -row[0])
    return [(name, grown) for _, name, grown in rows[:top]]


def _own(costs: Costs, name: str, event: str) -> int:
    values = costs.functions.get(name)
    if values is None or event not in costs.events:
        return 0
    return values[costs.events.index(event)]


def _cache(index: int) -> tuple[int, int, int] | None:
    """Size in bytes, ways and line size of cache ``index`` of CPU 0 (sysfs), or None where it is not readable."""
    folder = Path("/sys/devices/system/cpu/cpu0/cache") / f"index{index}"
    try:
        size = int((folder / "size").read_text().strip().rstrip("K")) * 1024
        return (
            size,
            int((folder / "ways_of_associativity").read_text()),
            int((folder / "coherency_line_size").read_text()),
        )
    except (OSError, ValueError):
        return None


def cache_options(ll_bytes: int) -> list[str]:
    """This machine's L1 caches and ``ll_bytes`` as the last level, for valgrind's simulator."""

    def level(index: int) -> str:
        found = _cache(index)
        return "32768,8,64" if found is None else ",".join(map(str, found))

    return ["--cache-sim=yes", "--branch-sim=yes", f"--D1={level(0)}", f"--I1={level(1)}", f"--LL={ll_bytes},16,64"]


def l2_bytes() -> int:
    found = _cache(2)
    return 1024 * 1024 if found is None else found[0]


class Simulated:
    """One variant's uvicorn under callgrind's cache simulation, with its own Locust."""

    def __init__(self, variant: str, work: Path, env: dict[str, str], ll_bytes: int, users: int, run_time: int) -> None:
        self.variant = variant
        self.folder = work / variant
        (self.folder / "data").mkdir(parents=True)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        server_env = {**env, "COOKIEGATE_BENCH_DATA_DIR": str(self.folder / "data"), "PYTHONHASHSEED": "0"}
        server = [
            *pinning(0),
            "valgrind",
            "--tool=callgrind",
            *cache_options(ll_bytes),
            f"--callgrind-out-file={self.folder}/callgrind.out",
            *uvicorn_command(variant, port),
        ]
        with (self.folder / "server.log").open("wb") as log:
            self.server = subprocess.Popen(server, env=server_env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
        # Python's start-up under the simulator takes a minute or more.
        await_serving(variant, self.url, self.server, self.folder / "server.log", timeout=600)
        locust_env = {**env, "COOKIEGATE_BENCH_USERS": str(users), "COOKIEGATE_BENCH_VARIANT": variant}
        locust = [*pinning(1), *locust_command(self.url, users, run_time)]
        with (self.folder / "locust.log").open("wb") as log:
            self.locust = subprocess.Popen(locust, env=locust_env, stdout=log, stderr=subprocess.STDOUT)
        self.counted_from = 0

    def zero(self) -> None:
        self.counted_from = served(self.url)
        subprocess.run(["callgrind_control", "-z", str(self.server.pid)], check=True, capture_output=True)

    def dump(self) -> tuple[Costs, int]:
        """The costs since ``zero`` and the requests served meanwhile; stops Locust and the server."""
        subprocess.run(["callgrind_control", "-d", str(self.server.pid)], check=True, capture_output=True)
        requests = served(self.url) - self.counted_from
        self.locust.terminate()
        self.locust.wait()
        self.server.terminate()
        self.server.wait()
        dumped = sorted(self.folder.glob("callgrind.out.*"))
        if not dumped or requests <= 0:
            raise RuntimeError(f"{self.variant}: no dump or no requests ({requests})")
        with dumped[0].open(errors="replace") as text:
            return read_costs(text), requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="bare,gated", help="two variants of app.py, compared in this order")
    parser.add_argument("--warmup", type=int, default=240, help="seconds served before counting")
    parser.add_argument("--seconds", type=int, default=150, help="seconds counted")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--ll", type=int, default=l2_bytes(), help="last-level cache simulated, bytes (default: L2)")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--build", choices=BUILDS, default="compiled", help="what to measure (builds.py)")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    with tempfile.TemporaryDirectory(prefix="cookiegate-stalls-") as tmp:
        work = Path(tmp)
        env = {**os.environ, **prepare(args.build, work)}
        token_file = work / "tokens.json"
        token_file.write_text(json.dumps(make_tokens(KEY, 50)))
        env.update({"COOKIEGATE_BENCH_KEY": KEY, "COOKIEGATE_BENCH_TOKEN_FILE": str(token_file)})
        run_time = args.warmup + args.seconds + 60
        runs = [Simulated(v, work, env, args.ll, args.users, run_time) for v in variants]
        time.sleep(args.warmup)
        for run in runs:
            run.zero()
        time.sleep(args.seconds)
        results = [run.dump() for run in runs]
    print(f"per request (callgrind --cache-sim, LL = {args.ll // 1024} KiB, {args.build} build)")
    print(f"{'':<14}" + "".join(f"{e:>10}" for e in SHOWN) + f"{'requests':>10}")
    figures = [per_request(costs, requests) for costs, requests in results]
    for variant, row, (_, requests) in zip(variants, figures, results, strict=True):
        print(f"{variant:<14}" + "".join(f"{row[e]:>10,.0f}" for e in SHOWN) + f"{requests:>10}")
    if len(results) == 2:
        print(f"{'difference':<14}" + "".join(f"{figures[1][e] - figures[0][e]:>10,.0f}" for e in SHOWN))
        print(f"\nfunctions whose own misses and mispredicts per request grew most ({variants[0]} -> {variants[1]})")
        print("".join(f"{e:>8}" for e in SHOWN) + "  function")
        for name, grown in ranked(*results[0], *results[1], top=args.top):
            print("".join(f"{grown[e]:>8,.0f}" for e in SHOWN) + f"  {name[-90:]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Instructions per request (valgrind callgrind) on the benchmark visitor mix, in process, through the demo shop.

    .venv/bin/python benchmarks/instructions.py [--out DIR] [--small 1000 --large 3000] [--kinds] [--no-time]
                                                [--build compiled|source] [--layouts 3]

Wall-clock figures on a shared 2-core machine move by 10-30 % from run to run; an instruction count does not.
Each variant (bare shop, gate without access log, gate with access log) serves a deterministic request sequence
in a fresh ``python`` under ``valgrind --tool=callgrind --trace-children=yes`` (the gate's ingest process
counts too). The method is ``(I(large) - I(small)) / (large - small)`` over two whole runs of ``small`` and
``large`` requests: start-up (imports, building the app, the lifespan) cancels out. Each figure is the median
over ``--layouts`` memory layouts (the same build imported through other paths, ``layout_envs``): which
type-attribute lookups collide in CPython's cache depends on the layout and moves one figure by a few k
instructions per request (a column beside counts those misses). ``--kinds`` repeats this
per visitor kind (shorter runs, home page only) and ``--no-time`` skips the native CPU µs (process time,
median of 5) printed beside. ``--build`` picks what is measured (builds.py): the compiled wheel a site installs
(default; built first, ~1 minute) or the source tree.

Writes ``instructions.json`` to ``--out`` (default: a new temp dir) and prints a table with ratios to bare.
See DEVELOPERS.md ("Measuring the hot path") for how to read and profile the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent))  # last: the build on PYTHONPATH (builds.py) or the installed package wins

from builds import BUILDS, check_build, prepare  # noqa: E402
from callgrind import read_costs  # noqa: E402
from starlette.types import ASGIApp, Message, Scope  # noqa: E402
from visitors import browser_user_agent  # noqa: E402

from cookiegate import CookieGate, Policy, useragents  # noqa: E402
from cookiegate.consent import new_consent  # noqa: E402
from cookiegate.consent_cookie import ConsentCodec  # noqa: E402
from cookiegate.demo import build_site  # noqa: E402
from cookiegate.records.status import read_status  # noqa: E402

KEY: Final = "cookiegate-instructions-key-0123456789"
#: The Locust mix without the consent POST (1 %, not a hot-path request).
MIX: Final = {"returning": 60, "new": 15, "rejecter": 8, "minor": 4, "gpc": 5, "bot": 7}
PAGES: Final = (("/", 6), ("/privacy", 2), ("/demo-static/shop.css", 1))
BOT_PAGES: Final = (("/", 3), ("/privacy", 1))
#: Per-kind runs: one kind, always the home page (HTML, the shop sets cookies on it).
KINDS: Final = ("returning", "returning_ga4", "new", "minor", "gpc", "bot")
VARIANTS: Final = ("bare", "gated", "gated_logged")
HTML_ACCEPT: Final = b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
GOOGLEBOT: Final = b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
IDENTITIES_PER_KIND: Final = 40
#: A GA4 ``_ga_<id>`` cookie carries the session's hit counter: its value changes every few page views.
GA4_EVERY: Final = 3
#: CPython's type-attribute cache (4,096 slots, indexed by type version tag and the name's address) falls back
#: to this on a miss, ~300 instructions each. Which lookups collide depends on the memory layout, so any change
#: anywhere can add or remove a few misses per request: counted and printed, so a figure can be read with it.
TYPE_CACHE_MISS: Final = "find_name_in_mro"
#: How long to wait for the ingest process under valgrind (starting Python there takes ~30-60 s).
INGEST_WAIT_S: Final = 900.0


def _tokens() -> dict[str, bytes]:
    policy = Policy.default()
    codec = ConsentCodec([KEY], version=policy.version, max_age_seconds=policy.consent_max_age_days * 86_400)

    def sign(granted: tuple[str, ...], under14: bool = False) -> bytes:
        return codec.encode(new_consent(granted, version=policy.version, under14=under14)).encode()

    everything = ("functional", "analytics", "targeting")
    return {"all": sign(everything), "reject": sign(()), "minor": sign(everything, under14=True)}


class Visitor:
    """One browser: a User-Agent, fixed cookies, and (with analytics) a GA4 cookie that ticks every few views."""

    def __init__(
        self, kind: str, index: int, tokens: dict[str, bytes], rng: random.Random, *, steady: bool = False
    ) -> None:
        self.kind = kind
        self.views = 0
        self.user_agent = GOOGLEBOT if kind == "bot" else browser_user_agent(index).encode()
        self.session = rng.randrange(10**9, 2 * 10**9)
        trackers = b"_ga=GA1.1.%d.1700000000; _fbp=fb.1.1700000000.%d; lang=ko; session=%024x" % (
            rng.randrange(10**9),
            rng.randrange(10**9),
            rng.getrandbits(96),
        )
        token = {"returning": "all", "returning_ga4": "all", "gpc": "all", "rejecter": "reject", "minor": "minor"}.get(
            kind
        )
        self.ga4 = token in ("all", "minor")
        if token is not None:
            self.cookie = b"cookiegate=" + tokens[token] + b"; " + trackers
        elif kind == "new" and rng.random() < 0.3:
            self.cookie = b"_ga=GA1.1.%d.1700000000; lang=ko" % rng.randrange(10**9)
        else:
            self.cookie = b""
        self.query = b"utm_source=x&gclid=y&item=3" if kind == "minor" else b""
        self.every = 1 if kind == "returning_ga4" else GA4_EVERY
        if steady:
            self.ga4 = False  # the per-kind "returning" case: the same Cookie header on every view

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"host", b"shop.example"),
            (b"user-agent", self.user_agent),
            (b"accept", HTML_ACCEPT),
            (b"accept-language", b"ko-KR,ko;q=0.9,en;q=0.8"),
            (b"accept-encoding", b"gzip, deflate, br"),
        ]
        if self.kind == "gpc":
            headers.append((b"sec-gpc", b"1"))
        cookie = self.cookie
        if self.ga4:
            hits = self.views // self.every
            cookie += b"; _ga_XYZ123=GS1.1.%d.%d.1.1700000000.0.0.0" % (self.session, hits)
        if cookie:
            headers.append((b"cookie", cookie))
        self.views += 1
        return headers


def requests(count: int, kind: str | None, seed: int = 7) -> Iterator[Scope]:
    """``count`` request scopes: the weighted mix (``kind=None``), or one visitor kind on the home page."""
    rng = random.Random(seed)
    tokens = _tokens()
    kinds = list(MIX) if kind is None else [kind]
    steady = kind == "returning"
    crowd = {k: [Visitor(k, i, tokens, rng, steady=steady) for i in range(IDENTITIES_PER_KIND)] for k in kinds}
    weights = [MIX[k] for k in kinds] if kind is None else [1]
    for _ in range(count):
        who = rng.choices(kinds, weights)[0]
        visitor = rng.choice(crowd[who])
        if kind is not None:
            path = "/"
        else:
            pages = BOT_PAGES if who == "bot" else PAGES
            path = rng.choices([p for p, _ in pages], [w for _, w in pages])[0]
        yield {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "https",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": visitor.query,
            "headers": visitor.headers(),
            "client": ("203.0.113.7", 50000),
            "server": ("10.0.0.2", 8000),
            "state": {},
        }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    return None


def build(variant: str, data_dir: Path) -> ASGIApp:
    if variant == "bare":
        return build_site()
    return CookieGate(build_site(), secret_keys=[KEY], data_dir=data_dir, access_log=variant == "gated_logged")


#: One measured case: a name, the visitor kind (None: the mix), warm-up requests, measured requests.
Case = tuple[str, str | None, int, int]


async def serve(variant: str, cases: list[Case], data_dir: Path) -> list[float]:
    """Run every case through one ``variant`` app inside a lifespan; the CPU seconds each measured part took."""
    app = build(variant, data_dir)
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    replies: asyncio.Queue[Message] = asyncio.Queue()
    lifespan = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, replies.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    await replies.get()
    # One-off work that would otherwise land in the measured part by timing alone: the User-Agent matchers'
    # compile (a background thread at startup) and the ingest process's start-up (a child process).
    useragents.warm()
    if variant != "bare":
        await _ingester(data_dir, lambda status: status.get("state") == "ok")
    spent = []
    for _, kind, warm, measured in cases:
        scopes = list(requests(warm + measured, kind))
        for scope in scopes[:warm]:
            await app(scope, _receive, _send)
        started = time.process_time()
        for scope in scopes[warm:]:
            await app(scope, _receive, _send)
        spent.append(time.process_time() - started)
    if variant == "gated_logged":
        # Every record stored before shutdown, so the ingest work of the measured requests is all counted.
        served = sum(warm + measured for _, _, warm, measured in cases)
        await _ingester(data_dir, lambda status: _stored(status) >= served)
    await inbox.put({"type": "lifespan.shutdown"})
    await replies.get()
    await lifespan
    return spent


def _stored(status: dict[str, Any]) -> int:
    """Access records the ingester has stored since it started."""
    channels = status.get("channels") or {}
    return int(channels.get("access", {}).get("stored", 0))


async def _ingester(data_dir: Path, ready: Any) -> None:
    """Wait until the data dir's ingester reports ``ready`` in its status file (it rewrites it every second)."""
    deadline = time.monotonic() + INGEST_WAIT_S
    while time.monotonic() < deadline:
        status = read_status(data_dir)
        if status is not None and ready(status):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the ingest process in {data_dir} did not get ready in {INGEST_WAIT_S:.0f} s")


def child(variant: str, cases: list[Case]) -> None:
    """Serve ``cases`` in this process and print the CPU seconds of each measured part (JSON)."""
    check_build()
    with tempfile.TemporaryDirectory(prefix="cookiegate-instr-") as tmp:
        print(json.dumps(asyncio.run(serve(variant, cases, Path(tmp)))))


def encode_cases(cases: list[Case]) -> str:
    return ",".join(f"{name}:{kind or ''}:{warm}:{measured}" for name, kind, warm, measured in cases)


def decode_cases(text: str) -> list[Case]:
    out: list[Case] = []
    for item in text.split(","):
        name, kind, warm, measured = item.split(":")
        out.append((name, kind or None, int(warm), int(measured)))
    return out


def _child_command(variant: str, cases: list[Case]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--cases", encode_cases(cases)]


def per_request(
    variant: str, cases: list[Case], work: Path, layouts: list[dict[str, str]]
) -> dict[str, list[tuple[float, float]]]:
    """Instructions and type-cache misses per request of every case, once per layout (``layout_envs``).

    Each count is ``(I(large) - I(small)) / (large - small)`` over two fresh process trees under callgrind with
    ``--trace-children=yes``, so the gate's ingest process (a child of the server) is counted with the server;
    every process writes its own file (``%p``) and the totals are summed. Start-up, imports and the lifespan
    cancel in the difference.
    """
    figures: dict[str, list[tuple[float, float]]] = {}
    for name, kind, small, extra in cases:
        figures[name] = []
        for index, env in enumerate(layouts):
            runs = [
                _run_total(variant, (name, kind, 0, count), work / f"layout{index}", env)
                for count in (small, small + extra)
            ]
            figures[name].append(((runs[1][0] - runs[0][0]) / extra, (runs[1][1] - runs[0][1]) / extra))
    return figures


def layout_envs(env: dict[str, str], count: int, work: Path) -> list[dict[str, str]]:
    """``count`` environments that import the same build through different paths (symbolic links).

    The path is in every module's ``__file__`` and in ``sys.path``: another path lays memory out differently,
    and with it which type-attribute lookups collide in CPython's cache (``TYPE_CACHE_MISS``). One layout can
    cost a variant a few k instructions per request that the next does not, so a figure is the median of several.
    """
    build = Path(env["PYTHONPATH"])
    envs = [env]
    for index in range(1, count):
        link = work / f"build-layout{index}"
        link.symlink_to(build, target_is_directory=True)
        envs.append({**env, "PYTHONPATH": str(link)})
    return envs


def _run_total(variant: str, case: Case, work: Path, env: dict[str, str]) -> tuple[int, int]:
    """Instructions of one whole run serving ``case`` and its type-cache misses, summed over its processes."""
    folder = work / f"{variant}-{case[0]}-{case[3]}"
    folder.mkdir(parents=True)  # ``work`` is one layout's folder: several runs share it
    command = [
        "valgrind",
        "--tool=callgrind",
        "--trace-children=yes",
        f"--callgrind-out-file={folder}/callgrind.%p",
        *_child_command(variant, [case]),
    ]
    # Run from the run's own folder: the ingest process (``python -m cookiegate``) must find the chosen build.
    subprocess.run(
        command,
        check=True,
        env={**env, "PYTHONHASHSEED": "0"},
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    total = misses = 0
    for dumped in folder.glob("callgrind.*"):
        instructions, calls = read_callgrind(dumped.read_text(errors="replace"), TYPE_CACHE_MISS)
        total += instructions
        misses += calls
    if not total:
        raise RuntimeError(f"no callgrind totals in {folder}")
    return total, misses


def read_callgrind(text: str, function: str) -> tuple[int, int]:
    """A callgrind output file's total instructions, and how many calls it records into ``function``."""
    costs = read_costs(text.splitlines())
    return costs.totals.get("Ir", 0), costs.calls.get(function, 0)


def native_us(variant: str, cases: list[Case], repeats: int, env: dict[str, str], work: Path) -> dict[str, float]:
    """Median CPU µs (process time) per measured request over ``repeats`` native runs (noisy: orientation)."""
    samples: list[list[float]] = []
    for _ in range(repeats):
        run = subprocess.run(
            _child_command(variant, cases), check=True, env=env, cwd=work, stdout=subprocess.PIPE, text=True
        )
        samples.append(json.loads(run.stdout.splitlines()[-1]))
    return {
        name: statistics.median(run[i] for run in samples) / measured * 1e6
        for i, (name, _, _, measured) in enumerate(cases)
    }


def table(title: str, rows: dict[str, dict[str, float]], unit: str) -> None:
    print(f"\n{title}")
    print(f"{'':<16}" + "".join(f"{v:>14}" for v in VARIANTS) + f"{'gated x':>10}{'logged x':>10}{'gate +':>12}")
    for name, figures in rows.items():
        bare = figures.get("bare", float("nan"))
        gated = figures.get("gated", float("nan"))
        logged = figures.get("gated_logged", float("nan"))
        print(
            f"{name:<16}"
            + "".join(f"{figures.get(v, float('nan')):>14,.1f}" for v in VARIANTS)
            + f"{gated / bare:>10.3f}{logged / bare:>10.3f}{gated - bare:>12,.1f} {unit}"
        )


def median_of(runs: list[tuple[float, float]], at: int) -> float:
    return statistics.median(run[at] for run in runs)


def spread(rows: dict[str, dict[str, list[float]]]) -> None:
    """Each variant's lowest and highest figure over the layouts, beside the medians of the table."""
    print("\nover the layouts (lowest - highest)")
    for name, figures in rows.items():
        cells = "".join(f"{min(runs):>14,.0f}-{max(runs):<10,.0f}" for runs in figures.values())
        print(f"{name:<16}{cells}")


def misses(rows: dict[str, dict[str, float]]) -> None:
    """The type-cache misses per request beside the table: read with the figures, not as a target."""
    print("\ntype-attribute cache misses per request (CPython find_name_in_mro calls, ~300 Ir each; layout luck)")
    print(f"{'':<16}" + "".join(f"{v:>14}" for v in VARIANTS))
    for name, figures in rows.items():
        print(f"{name:<16}" + "".join(f"{figures.get(v, float('nan')):>14,.1f}" for v in VARIANTS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for instructions.json (default: a new temp dir)")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=3000)
    parser.add_argument("--kinds", action="store_true", help="also measure each visitor kind alone")
    parser.add_argument("--kind-small", type=int, default=200)
    parser.add_argument("--kind-large", type=int, default=600)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--layouts", type=int, default=3, help="memory layouts per figure, the median reported (layout_envs)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="callgrind runs at once")
    parser.add_argument("--no-time", action="store_true", help="skip the native µs timing")
    parser.add_argument(
        "--time-only", action="store_true", help="only the native µs timing (no callgrind: minutes, not half an hour)"
    )
    parser.add_argument("--build", choices=BUILDS, default="compiled", help="what to measure (builds.py)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, decode_cases(args.cases))
        return 0
    out: Path = args.out or Path(tempfile.mkdtemp(prefix="cookiegate-instructions-"))
    out.mkdir(parents=True, exist_ok=True)
    variants = [v for v in args.variants.split(",") if v]
    cases: list[Case] = [("mix", None, args.small, args.large - args.small)]
    if args.kinds:
        cases += [(k, k, args.kind_small, args.kind_large - args.kind_small) for k in KINDS]
    results: dict[str, Any] = {
        "method": "(I(large) - I(small)) / (large - small), callgrind Ir over the process tree; PYTHONHASHSEED=0",
        "build": args.build,
        "small": args.small,
        "large": args.large,
        "kind_small": args.kind_small,
        "kind_large": args.kind_large,
        "instructions": {},
        "layouts": args.layouts,
        "instructions_by_layout": {},
        "type_cache_misses": {},
        "us": {},
    }
    with tempfile.TemporaryDirectory(prefix="cookiegate-callgrind-") as tmp, ThreadPoolExecutor(args.jobs) as pool:
        env = {**os.environ, **prepare(args.build, Path(tmp))}
        if not args.time_only:
            layouts = layout_envs(env, args.layouts, Path(tmp))
            counted = dict(
                zip(variants, pool.map(lambda v: per_request(v, cases, Path(tmp), layouts), variants), strict=True)
            )
            for name, *_ in cases:
                results["instructions"][name] = {v: median_of(counted[v][name], 0) for v in variants}
                results["type_cache_misses"][name] = {v: median_of(counted[v][name], 1) for v in variants}
                results["instructions_by_layout"][name] = {v: [f[0] for f in counted[v][name]] for v in variants}
        if not args.no_time:
            timed = {v: native_us(v, cases, 5, env, Path(tmp)) for v in variants}
            for name, *_ in cases:
                results["us"][name] = {v: timed[v][name] for v in variants}
    (out / "instructions.json").write_text(json.dumps(results, indent=2) + "\n")
    if results["instructions"]:
        table(f"instructions per request (callgrind, {args.build} build)", results["instructions"], "Ir")
        spread(results["instructions_by_layout"])
        misses(results["type_cache_misses"])
    if results["us"]:
        table("CPU µs per request (native, median of 5; noisy)", results["us"], "µs")
    print(f"\nwrote {out / 'instructions.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The soak's traffic driven in process: what grows in the gate's memory, request by request, deterministically.

    .venv/bin/python benchmarks/memory.py                          # 200k requests, a sample every 20k
    .venv/bin/python benchmarks/memory.py --tracemalloc --top 12   # + the allocation sites that grew
    .venv/bin/python benchmarks/memory.py --requests 60000 --every 5000 --json out.json

``run.py --soak`` measures RSS over HTTP for 10 minutes on a loaded 2-core machine; this script sends the same
requests (``app.gated_logged``: the demo shop behind the gate with the access log; a fresh visitor identity
per request, the Locust mix's weights, 3000 User-Agents, 5000 consent tokens per kind) straight into the ASGI
app, with a fixed random seed, so a run repeats exactly and takes a minute or two. Every ``--every`` requests
it prints the RSS (``/proc/self/statm``) and the length and size (``sys.getsizeof`` over what each holds) of
every cache and buffer that distinct visitors, tokens, User-Agents or paths can grow; with ``--tracemalloc``
also the traced heap and, at the end, the sites whose allocations grew most after the warm-up sample (the
first sample at or after ``--warmup`` requests). Tracing slows each request several times over: with
``--trace-from`` it starts late (e.g. at the warm-up), and what was allocated before is not traced.
The soak's 500 req/s for 10 minutes is 300k requests.

The ingest process runs as the gate starts it (lifespan); it is a child process, so the RSS here is the
gate's alone, as in ``run.py``'s soak.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from app import COUNT_PATH, gated_logged  # noqa: E402 - after the path set-up, as run.py's server does
from instructions import BOT_PAGES, GOOGLEBOT, HTML_ACCEPT, MIX, PAGES  # noqa: E402
from run import make_tokens  # noqa: E402
from visitors import browser_user_agent  # noqa: E402

from cookiegate import CookieGate  # noqa: E402
from cookiegate.leaks import MAX_PENDING  # noqa: E402
from cookiegate.useragents import _describe  # noqa: E402

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
#: The Locust mix (``locustfile.py``'s default weights), the consent POST included.
WEIGHTS = {**MIX, "consent": 1}
MINOR_QUERY = b"utm_source=x&gclid=y&item=3"
CONSENT_BODIES = (b'{"granted":["analytics"],"under14":false}', b'{"granted":[],"under14":false}',
                  b'{"granted":["functional","analytics","targeting"],"under14":false}')  # fmt: skip
TOKEN_KIND = {"returning": "all", "rejecter": "reject", "minor": "minor", "gpc": "all"}


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


def visitors(tokens: dict[str, list[str]], ua_variety: int, seed: int) -> Iterator[Request]:
    """Requests as ``locustfile.py`` sends them with ``COOKIEGATE_BENCH_CHURN=1``: a new identity every time."""
    rng = random.Random(seed)
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    while True:
        kind = rng.choices(kinds, weights)[0]
        headers = [(b"host", b"127.0.0.1:8000"), (b"accept-encoding", b"gzip, deflate")]
        user_agent = browser_user_agent(rng.randrange(ua_variety)).encode()
        if kind == "consent":
            body = rng.choice(CONSENT_BODIES)
            headers += [(b"user-agent", user_agent), (b"accept", b"application/json"),
                        (b"sec-fetch-site", b"same-origin"), (b"content-type", b"application/json"),
                        (b"content-length", b"%d" % len(body))]  # fmt: skip
            yield Request("POST", "/_cookiegate/consent", b"", headers, body)
            continue
        headers += [(b"user-agent", GOOGLEBOT if kind == "bot" else user_agent), (b"accept", HTML_ACCEPT)]
        if kind == "gpc":
            headers.append((b"sec-gpc", b"1"))
        cookie = _cookies(rng, kind, tokens)
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        paths, path_weights = zip(*(BOT_PAGES if kind == "bot" else PAGES), strict=True)
        path = rng.choices(paths, path_weights)[0]
        yield Request("GET", path, MINOR_QUERY if kind == "minor" else b"", headers, b"")


def _cookies(rng: random.Random, kind: str, tokens: dict[str, list[str]]) -> str:
    if kind == "new":
        return f"_ga=GA1.1.{rng.randrange(10**9)}.1700000000; lang=ko" if rng.random() < 0.3 else ""
    token_kind = TOKEN_KIND.get(kind)
    if token_kind is None:
        return ""
    trackers = (
        f"_ga=GA1.1.{rng.randrange(10**9)}.1700000000; _fbp=fb.1.1700000000.{rng.randrange(10**9)}; "
        f"lang=ko; session={rng.getrandbits(96):024x}"
    )
    return f"cookiegate={rng.choice(tokens[token_kind])}; {trackers}"


async def serve(app: Any, request: Request, port: int) -> int:
    """One request through the app as uvicorn would call it; returns the status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", port), "scheme": "http", "root_path": "",
        "method": request.method, "path": request.path, "raw_path": request.path.encode(),
        "query_string": request.query, "headers": request.headers, "state": {},
    }  # fmt: skip
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # a client that stays connected
        sent = True
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def lifespan(app: Any) -> tuple[asyncio.Task[None], asyncio.Queue[dict[str, Any]], asyncio.Queue[str]]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[str] = asyncio.Queue()

    async def send(message: dict[str, Any]) -> None:
        await outbox.put(message["type"])

    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    print(f"lifespan: {await outbox.get()}", flush=True)
    return task, inbox, outbox


def find_gate(app: Any) -> CookieGate:
    while not isinstance(app, CookieGate):
        app = app.app
    return app


def deep_size(root: object, seen: set[int]) -> int:
    """Bytes of ``root`` and what it holds (containers, slotted objects), counting each object once."""
    total = 0
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, bool | type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset | deque):
            stack.extend(obj)
        elif hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, name, None) for name in getattr(type(obj), "__slots__", ()))
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
    return total


def caches(gate: CookieGate) -> dict[str, tuple[int, Callable[[], object]]]:
    """Every per-visitor cache or buffer of the gate: name -> (bound, the container)."""
    services = gate.services
    leaks = services.leaks
    access_log = services.access_log
    gpc = getattr(access_log, "gpc_events", None)
    verdicts, banner = gate.verdicts, gate.banner
    return {
        "verdicts": (8192, lambda: verdicts._verdicts),
        "verdict_shapes": (8192, lambda: verdicts._shapes),
        "categories": (4096, lambda: verdicts.categories),
        "consent_tokens": (8192, lambda: gate.codec._cache),
        "policy_classify": (4096, lambda: gate.policy._cache),
        "banner_tags": (8192, lambda: banner._tags),
        "banner_bots": (4096, lambda: banner._bots),
        "whole_pages": (512, lambda: banner.pages._pages),
        "noscript_forms": (4096, lambda: banner.forms._pages if banner.forms else {}),
        "leaks_pending": (
            MAX_PENDING,
            lambda: [(n, p) for notes in leaks._pending.values() for n, by_path in notes.items() for p in by_path],
        ),
        "leaks_counts": (2000, lambda: leaks._counts),
        "leaks_admitted": (2000, lambda: leaks._admitted),
        "gpc_seen": (100_000, lambda: gpc._seen if gpc is not None else set()),
        "ua_describe": (8192, lambda: {i: None for i in range(_describe.cache_info().currsize)}),
        "expiries": (1024, lambda: {i: None for i in range(gate.expiries.cache_info().currsize)}),
    }


def pymalloc() -> dict[str, int]:
    """Python's small-object allocator: arenas held (1 MiB each, CPython 3.10+) against the bytes in live blocks.

    Arenas growing while the live bytes do not is fragmentation: freed blocks scattered over arenas that a few
    survivors keep from being returned. ``sys._debugmallocstats`` writes to the C stderr, read back here; it
    says nothing (zeros here) while tracemalloc wraps the allocator or under ``PYTHONMALLOC=malloc``.
    """
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode("ascii", "replace")
    found = {}
    for key, label in (("arenas", "# arenas allocated current"), ("arena_bytes", "Total"),
                       ("live", "# bytes in allocated blocks"), ("free", "# bytes in available blocks")):  # fmt: skip
        line = next((line for line in text.splitlines() if line.startswith(label)), "=0")
        found[key] = int(line.rpartition("=")[2].replace(",", "").strip() or 0)
    return found


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_SIZE


def sample(done: int, gate: CookieGate, started: float) -> dict[str, Any]:
    seen: set[int] = set()
    sizes = {}
    for name, (bound, container) in caches(gate).items():
        held = container()
        sizes[name] = {"len": len(held), "bound": bound, "bytes": deep_size(held, seen)}  # type: ignore[arg-type]
    row: dict[str, Any] = {"requests": done, "seconds": round(time.monotonic() - started, 1), "rss": rss()}
    row["pymalloc"] = pymalloc()
    if tracemalloc.is_tracing():
        row["traced"] = tracemalloc.get_traced_memory()[0]
    row["caches"] = sizes
    return row


def show(row: dict[str, Any], names: list[str]) -> None:
    mb = row["rss"] / 2**20
    traced = f" traced {row['traced'] / 2**20:7.2f}" if "traced" in row else ""
    heap = row["pymalloc"]
    traced += f" pymalloc {heap['arenas']:>4} arenas, live {heap['live'] / 2**20:6.2f}"
    cells = " ".join(f"{row['caches'][n]['len']:>6}/{row['caches'][n]['bytes'] / 2**20:5.2f}" for n in names)
    print(f"{row['requests']:>8} {row['seconds']:>6} rss {mb:7.2f}{traced}  {cells}", flush=True)


async def drive(args: argparse.Namespace) -> list[dict[str, Any]]:
    app = gated_logged()
    gate = find_gate(app)
    task, inbox, outbox = await lifespan(app)
    tokens = make_tokens(os.environ["COOKIEGATE_BENCH_KEY"], args.tokens)
    requests = visitors(tokens, args.ua_variety, args.seed)
    names = list(caches(gate))
    print("columns after rss: len/MiB of " + ", ".join(names), flush=True)
    rows: list[dict[str, Any]] = []
    warm_snapshot: tracemalloc.Snapshot | None = None
    started = time.monotonic()
    statuses: dict[int, int] = {}
    for done in range(1, args.requests + 1):
        if args.tracemalloc and done == args.trace_from + 1:
            tracemalloc.start(args.frames)
        status = await serve(app, next(requests), 40000 + done % 50)
        statuses[status] = statuses.get(status, 0) + 1
        if done % args.every == 0:
            if args.malloc_trim:
                trim()
            rows.append(sample(done, gate, started))
            show(rows[-1], names)
            if tracemalloc.is_tracing() and warm_snapshot is None and done >= args.warmup:
                warm_snapshot = tracemalloc.take_snapshot()
    print(f"statuses {statuses}; counted {await serve(app, Request('GET', COUNT_PATH, b'', [], b''), 1)}")
    if warm_snapshot is not None:
        growth(warm_snapshot, args.top)
    await inbox.put({"type": "lifespan.shutdown"})
    print(f"lifespan: {await outbox.get()}", flush=True)
    await task
    return rows


def growth(before: tracemalloc.Snapshot, top: int) -> None:
    """The allocation sites (grouped by traceback) that grew most since ``before``."""
    gc.collect()
    after = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    before = before.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    print(f"\ntop {top} growth after the warm-up sample (grouped by traceback):")
    for stat in after.compare_to(before, "traceback")[:top]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks (now {stat.size / 1024:.1f} KiB)")
        for line in stat.traceback.format(limit=4, most_recent_first=True)[:8]:
            print("     " + line)


def trim() -> None:
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--every", type=int, default=20_000, help="requests between samples")
    parser.add_argument("--warmup", type=int, default=60_000, help="requests before the tracemalloc baseline")
    parser.add_argument("--tracemalloc", action="store_true", help="trace allocations (slower, RSS larger)")
    parser.add_argument("--trace-from", type=int, default=0, help="start tracing after this many requests")
    parser.add_argument("--frames", type=int, default=6, help="traceback depth with --tracemalloc")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=5000, help="consent tokens per kind (run.py --soak: 5000)")
    parser.add_argument("--ua-variety", type=int, default=3000, help="distinct User-Agents (run.py --soak: 3000)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--malloc-trim", action="store_true", help="malloc_trim(0) before each sample")
    parser.add_argument("--json", type=Path, help="write the samples here")
    args = parser.parse_args(argv)
    os.environ.setdefault("COOKIEGATE_BENCH_KEY", "cookiegate-memory-" + "0" * 16)
    data_dir = tempfile.mkdtemp(prefix="cookiegate-memory-")
    os.environ["COOKIEGATE_BENCH_DATA_DIR"] = data_dir
    try:
        import uvloop

        rows = uvloop.run(drive(args))
    except ImportError:
        rows = asyncio.run(drive(args))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    warm = next((row for row in rows if row["requests"] >= args.warmup), rows[0])
    last = rows[-1]
    drift = (last["rss"] / warm["rss"] - 1) * 100
    print(f"RSS after warm-up ({warm['requests']} requests) {warm['rss'] / 2**20:.2f} MiB -> "
          f"{last['rss'] / 2**20:.2f} MiB at {last['requests']} ({drift:+.2f}%)")  # fmt: skip
    import shutil

    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

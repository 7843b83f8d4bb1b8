"""In-process cost of the gate per request: the ASGI app called directly, no sockets, no server.

    .venv/bin/python benchmarks/microbench.py [--iterations 2000] [--repeats 5] [--json FILE]   # ~20 s

For each visitor case the same prebuilt scope is sent through the bare shop and through the gate (without
and with the access log); the figure is the median over ``--repeats`` of (total ``perf_counter_ns`` / number
of calls). "gate µs" = gated − bare: what the gate adds to one request. Quick regressions only: the
end-to-end comparison under load is ``run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from starlette.types import ASGIApp, Message, Scope  # noqa: E402

from cookiegate import CookieGate, Policy  # noqa: E402
from cookiegate.consent import new_consent  # noqa: E402
from cookiegate.consent_cookie import ConsentCodec  # noqa: E402
from cookiegate.demo import build_site  # noqa: E402

KEY = "cookiegate-microbench-key-0123456789"
CHROME = (
    b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/124.0.6367.91 Safari/537.36"
)
HTML_ACCEPT = b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CONSENT_BODY = b'{"granted": ["analytics"], "under14": false}'
TRACKERS = b"_ga=GA1.1.123456789.1700000000; _fbp=fb.1.1700000000.987654321; lang=ko; session=abcdef0123456789"


def token(granted: tuple[str, ...], *, under14: bool = False) -> bytes:
    policy = Policy.default()
    codec = ConsentCodec([KEY], version=policy.version, max_age_seconds=policy.consent_max_age_days * 86_400)
    return codec.encode(new_consent(granted, version=policy.version, under14=under14)).encode()


def scope_for(path: str, query: bytes, headers: list[tuple[bytes, bytes]], method: str = "GET") -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"shop.example"), *headers],
        "client": ("203.0.113.7", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def cases() -> dict[str, Scope]:
    """One scope per visitor kind, as a browser would send it to the shop's home page."""
    everything = token(("functional", "analytics", "targeting"))
    minor = token(("functional", "analytics"), under14=True)
    base = [(b"user-agent", CHROME), (b"accept", HTML_ACCEPT), (b"accept-language", b"ko-KR,ko;q=0.9")]
    return {
        "consented": scope_for("/", b"", [*base, (b"cookie", b"cookiegate=" + everything + b"; " + TRACKERS)]),
        "new_visitor": scope_for("/", b"", base),
        "consented_new_header": scope_for(
            "/", b"", [*base, (b"cookie", b"cookiegate=" + everything + b"; " + TRACKERS)]
        ),
        "minor_marketing": scope_for(
            "/", b"utm_source=x&gclid=y&item=3", [*base, (b"cookie", b"cookiegate=" + minor + b"; " + TRACKERS)]
        ),
        "gpc": scope_for(
            "/", b"", [*base, (b"sec-gpc", b"1"), (b"cookie", b"cookiegate=" + everything + b"; " + TRACKERS)]
        ),
        "bot": scope_for(
            "/privacy",
            b"",
            [
                (b"user-agent", b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
                (b"accept", b"*/*"),
            ],
        ),
        # Not a hot-path request: signs a token and appends to the ledger. A 404 on the bare shop.
        "consent_post": scope_for(
            "/_cookiegate/consent",
            b"",
            [
                (b"user-agent", CHROME),
                (b"content-type", b"application/json"),
                (b"sec-fetch-site", b"same-origin"),
                (b"content-length", str(len(CONSENT_BODY)).encode()),
            ],
            method="POST",
        ),
    }


async def _receive() -> Message:
    # GETs never read the body; the consent POST reads this one message.
    return {"type": "http.request", "body": CONSENT_BODY, "more_body": False}


async def _send(message: Message) -> None:
    return None


class Lifespan:
    """Drives the ASGI lifespan as a server does, so the access log writer starts and drains as in uvicorn."""

    def __init__(self, app: ASGIApp) -> None:
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._replies: asyncio.Queue[Message] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._task = asyncio.ensure_future(app(scope, self._inbox.get, self._replies.put))

    async def _event(self, event: str) -> None:
        await self._inbox.put({"type": f"lifespan.{event}"})
        reply = await asyncio.wait_for(self._replies.get(), 10)
        if reply["type"] != f"lifespan.{event}.complete":
            raise RuntimeError(f"lifespan {event} failed: {reply}")

    async def startup(self) -> None:
        await self._event("startup")

    async def shutdown(self) -> None:
        await self._event("shutdown")
        await asyncio.wait_for(self._task, 10)


def fresh_cookie_headers(scope: Scope, count: int) -> list[Scope]:
    """``count`` copies of ``scope`` whose Cookie headers all differ, as when a GA4 ``_ga_<id>`` session cookie
    is rewritten on every page view: no per-header cache can help, only the parsing path counts."""
    scopes: list[Scope] = []
    for n in range(count):
        headers = [
            (name, value + b"; _ga_XYZ123=GS1.1.%d.1.1.1700000000.0.0.0" % n if name == b"cookie" else value)
            for name, value in scope["headers"]
        ]
        scopes.append({**scope, "headers": headers})
    return scopes


async def time_calls(app: ASGIApp, scope: Scope | list[Scope], iterations: int, repeats: int) -> float:
    """Median µs per call over ``repeats`` runs of ``iterations`` calls (a fresh scope copy each call).

    ``scope`` as a list: call ``i`` uses ``scope[i]`` (the list must hold warm-up + iterations × repeats).
    """
    warm = min(200, iterations)
    for i in range(warm):  # warm caches (consent token, classify, UA) as in steady state
        await app(dict(scope[i] if isinstance(scope, list) else scope), _receive, _send)
    per_call: list[float] = []
    for r in range(repeats):
        if isinstance(scope, list):
            batch = scope[warm + r * iterations : warm + (r + 1) * iterations]
            started = time.perf_counter_ns()
            for one in batch:
                await app(dict(one), _receive, _send)
        else:
            started = time.perf_counter_ns()
            for _ in range(iterations):
                await app(dict(scope), _receive, _send)
        per_call.append((time.perf_counter_ns() - started) / iterations / 1000)
    return statistics.median(per_call)


def variants(data_dir: Path) -> dict[str, Callable[[], ASGIApp]]:
    return {
        "bare": build_site,
        "gated": lambda: CookieGate(build_site(), secret_keys=[KEY], data_dir=data_dir / "gated", access_log=False),
        "gated_logged": lambda: CookieGate(
            build_site(), secret_keys=[KEY], data_dir=data_dir / "logged", access_log=True
        ),
    }


def thread_cpu_seconds() -> dict[str, float]:
    """CPU time of each live thread of this process by name (the access log writer works in its own)."""
    ticks = os.sysconf("SC_CLK_TCK")
    times: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        times[thread.name] = times.get(thread.name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return times


async def measure(iterations: int, repeats: int) -> dict[str, dict[str, float]]:
    # Cases: consented (a returning visitor, same Cookie header as last time), consented_new_header (the same
    # visitor whose analytics session cookie changed), new_visitor, minor_marketing, gpc, bot, consent_post.
    """``{case: {variant: µs/request, "gate_us": gated - bare, "logged_gate_us": ...}, "_background": {...}}``."""
    results: dict[str, dict[str, float]] = {name: {} for name in cases()}
    with tempfile.TemporaryDirectory(prefix="cookiegate-microbench-") as tmp:
        for variant, factory in variants(Path(tmp)).items():
            app = factory()
            lifespan = Lifespan(app)
            await lifespan.startup()
            before = thread_cpu_seconds()
            calls_made = 0
            try:
                for case, scope in cases().items():
                    calls: Scope | list[Scope] = scope
                    if case == "consented_new_header":
                        calls = fresh_cookie_headers(scope, min(200, iterations) + iterations * repeats)
                    results[case][variant] = round(await time_calls(app, calls, iterations, repeats), 2)
                    calls_made += min(200, iterations) + iterations * repeats
                if variant == "gated_logged":
                    await asyncio.sleep(1.5)  # let the writer store the last records before reading its CPU
                    after = thread_cpu_seconds()
                    spent = sum(after[name] - before.get(name, 0.0) for name in after if name != "MainThread")
                    results["_background"] = {"writer_cpu_us_per_record": round(spent / calls_made * 1e6, 2)}
            finally:
                await lifespan.shutdown()
    for case, figures in results.items():
        if case.startswith("_"):
            continue
        figures["gate_us"] = round(figures["gated"] - figures["bare"], 2)
        figures["logged_gate_us"] = round(figures["gated_logged"] - figures["bare"], 2)
        figures["gated_ratio"] = round(figures["gated"] / figures["bare"], 3)
        figures["logged_ratio"] = round(figures["gated_logged"] / figures["bare"], 3)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="calls per repeat")
    parser.add_argument("--repeats", type=int, default=5, help="repeats; the median is reported")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args.iterations, args.repeats))
    print(f"µs per request, in-process, median of {args.repeats} × {args.iterations} calls")
    print(
        f"{'case':<22}{'bare':>9}{'gated':>9}{'logged':>9}{'gate µs':>10}{'logged µs':>11}"
        f"{'gated ×':>9}{'logged ×':>10}"
    )
    for case, f in results.items():
        if case.startswith("_"):
            continue
        print(
            f"{case:<22}{f['bare']:>9.1f}{f['gated']:>9.1f}{f['gated_logged']:>9.1f}{f['gate_us']:>10.1f}"
            f"{f['logged_gate_us']:>11.1f}{f['gated_ratio']:>9.2f}{f['logged_ratio']:>10.2f}"
        )
    background = results.get("_background", {})
    if background:
        print(
            f"gated_logged background threads (access log writer, purge): {background['writer_cpu_us_per_record']}"
            " µs CPU per record on top (the figures above are the request path's wall time, which a busy writer"
            " also slows through the GIL)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Server CPU per request with the access log on and off (uvicorn, one worker, writer thread included).

    .venv/bin/python benchmarks/logging_cpu.py [--requests 5000]

CPU time (user + system, all threads) of the server process is read with psutil before and after a fixed
number of requests from 8 concurrent clients; the difference over the count is CPU µs per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
import psutil

APP = textwrap.dedent(
    """
    import os
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from cookiegate import CookieGate

    async def hello(request):
        return PlainTextResponse("ok")

    app = CookieGate(Starlette(routes=[Route("/p/{n}", hello)]), secret_keys=["bench-secret-0123456789abcdef"],
                     data_dir=os.environ["DATA"], access_log=os.environ["LOG"] == "1")
    """
)


async def drive(base: str, total: int) -> None:
    counter = iter(range(total))
    async with httpx.AsyncClient(base_url=base) as client:

        async def worker() -> None:
            for n in counter:
                await client.get(f"/p/{n}", headers={"user-agent": f"bench/{n % 100}"})

        await asyncio.gather(*(worker() for _ in range(8)))


def measure(root: Path, log: bool, total: int) -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATA": str(root / f"data-{log}"), "LOG": "1" if log else "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchapp:app", "--port", str(port), "--no-access-log", "--log-level",
         "warning"], cwd=root, env=env)  # fmt: skip
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/p/0")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(drive(f"http://127.0.0.1:{port}", 500))  # warm up caches
        proc = psutil.Process(server.pid)
        before = proc.cpu_times()
        asyncio.run(drive(f"http://127.0.0.1:{port}", total))
        time.sleep(0.5)  # let the writer thread store the last batch
        after = proc.cpu_times()
    finally:
        server.terminate()
        server.wait()
    return ((after.user + after.system) - (before.user + before.system)) / total * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cookiegate-cpu-"))
    (root / "benchapp.py").write_text(APP)
    off = [measure(root, False, args.requests) for _ in range(2)]
    on = [measure(root, True, args.requests) for _ in range(2)]
    print(f"server CPU per request: log off {min(off):.0f} µs, log on {min(on):.0f} µs, "
          f"logging adds {min(on) - min(off):.0f} µs")


if __name__ == "__main__":
    main()

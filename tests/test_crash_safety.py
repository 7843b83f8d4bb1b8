"""A server killed with SIGKILL under load loses no access record of a response the client received."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from cookiegate.accesslog import recover_spool
from cookiegate.stores import ACCESS_COLUMNS
from cookiegate.stores.sqlite import SQLiteAccessStore

APP = textwrap.dedent(
    """
    import os
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from cookiegate import CookieGate

    async def hello(request):
        return PlainTextResponse("ok " + request.path_params["n"])

    app = CookieGate(
        Starlette(routes=[Route("/r/{n}", hello)]),
        secret_keys=["crash-test-secret-0123456789"],
        data_dir=os.environ["COOKIEGATE_DATA"],
    )
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def load(base: str, total: int, kill_after: int, server: subprocess.Popen[bytes]) -> set[str]:
    completed: set[str] = set()
    counter = iter(range(total))
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as client:

        async def worker() -> None:
            for n in counter:
                path = f"/r/{n}"
                try:
                    response = await client.get(path)
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200 and response.text == f"ok {n}":
                    completed.add(path)
                if len(completed) == kill_after:
                    server.send_signal(signal.SIGKILL)

        await asyncio.gather(*(worker() for _ in range(16)))
    return completed


@pytest.mark.slow
def test_sigkill_mid_load_loses_no_completed_request(tmp_path: Path) -> None:
    (tmp_path / "crashapp.py").write_text(APP)
    data = tmp_path / "data"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "crashapp:app", "--port", str(port), "--lifespan", "on",
         "--log-level", "warning", "--no-access-log"],
        cwd=tmp_path, env={**os.environ, "COOKIEGATE_DATA": str(data)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/r/warmup", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        completed = asyncio.run(load(f"http://127.0.0.1:{port}", 2000, 800, server))
    finally:
        server.kill()
        server.wait()
    assert server.returncode == -signal.SIGKILL
    assert len(completed) >= 800

    store = SQLiteAccessStore(data / "access.db")
    recover_spool(data / "access-spool", store)
    paths = [str(r[ACCESS_COLUMNS.index("path")]) for r in store.records(0, 2**62)]
    logged = set(paths)
    assert len(paths) == len(logged), "recovery must not store a record twice"
    missing = completed - logged
    assert not missing, f"{len(missing)} completed requests have no record, e.g. {sorted(missing)[:5]}"
    assert recover_spool(data / "access-spool", store) == 0
    store.close()

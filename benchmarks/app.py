"""ASGI factories for the benchmark variants: the same sample shop served bare, gated, and gated with logging.

Served by ``run.py`` as ``uvicorn --factory app:<variant>`` (with ``--app-dir benchmarks``). Every variant is
wrapped in the same tiny ``RequestCounter`` so ``run.py`` can read how many requests the server finished in
its measuring window (one ``GET /__bench/count``); it costs well under a microsecond and is the same for all.

Environment (set by ``run.py``; defaults make each factory usable by hand):

- ``COOKIEGATE_BENCH_KEY``: the consent signing key (tokens made with it in ``run.py`` verify here).
- ``COOKIEGATE_BENCH_DATA_DIR``: where the gate keeps its SQLite stores (a fresh temp dir if unset).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final

from builds import check_build
from floor import CookieFloor
from starlette.types import ASGIApp, Receive, Scope, Send

from cookiegate import CookieGate
from cookiegate.demo import build_site

check_build()  # the server runs the build run.py asked for (builds.py), or fails at start

DEFAULT_KEY: Final = "cookiegate-benchmark-key-not-secret"
COUNT_PATH: Final = "/__bench/count"


class RequestCounter:
    """Counts finished HTTP requests and answers ``GET /__bench/count`` with the number (plain text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == COUNT_PATH:
            body = str(self.count).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.count += 1


def secret_key() -> str:
    return os.environ.get("COOKIEGATE_BENCH_KEY", DEFAULT_KEY)


def data_dir() -> Path:
    configured = os.environ.get("COOKIEGATE_BENCH_DATA_DIR")
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="cookiegate-bench-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def gate(app: ASGIApp, *, access_log: bool, inject_banner: bool = True) -> CookieGate:
    """The gate as a site would configure it, with the access log on or off."""
    return CookieGate(
        app, secret_keys=[secret_key()], data_dir=data_dir(), access_log=access_log, inject_banner=inject_banner
    )


def bare() -> ASGIApp:
    """The sample shop with no gate (the baseline)."""
    return RequestCounter(build_site())


def gated() -> ASGIApp:
    """The shop behind the gate, no access log (consent, child protection, banner injection)."""
    return RequestCounter(gate(build_site(), access_log=False))


def gated_logged() -> ASGIApp:
    """The shop behind the gate with the statutory access log written to SQLite under the data dir."""
    return RequestCounter(gate(build_site(), access_log=True))


def gated_no_banner() -> ASGIApp:
    """Diagnostic: the gate with banner injection off, to tell the banner's part of the cost from the rest."""
    return RequestCounter(gate(build_site(), access_log=False, inject_banner=False))


def floor() -> ASGIApp:
    """Diagnostic: the shop behind ``floor.CookieFloor``, the least a server-side cookie filter does."""
    return RequestCounter(CookieFloor(build_site()))


# uvicorn's own access log is a server flag, not an app: run.py serves ``bare`` with ``--access-log``.
uvicorn_access_log = bare

VARIANTS: Final = {
    "bare": bare,
    "gated": gated,
    "gated_logged": gated_logged,
    "uvicorn_access_log": uvicorn_access_log,
}
#: Served only when asked for (``run.py --variants``): they take the gate's cost apart, they are not products.
DIAGNOSTIC_VARIANTS: Final = {"floor": floor, "gated_no_banner": gated_no_banner}

"""The sample shop: a small site that sets analytics and targeting cookies, wrapped by the gate.

``cookiegate demo`` serves it with uvicorn on localhost so a newcomer sees blocking in a browser: the
server tries to set ``_ga`` (analytics) and ``_fbp`` (targeting) on every page, and the page carries tagged
tracker scripts that stay inert until their category is granted.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from cookiegate.demo.pages import page_locale, render
from cookiegate.middleware import CookieGate, get_consent
from cookiegate.policy import Policy

_HERE: Final = Path(__file__).resolve().parent


def _html(request: Request, name: str) -> HTMLResponse:
    locale = page_locale(request)
    # The page depends on the language headers and cookie: caches must key on them.
    headers = {"content-language": locale, "vary": "Accept-Language, Cookie"}
    return HTMLResponse(render(name, locale), headers=headers)


async def home(request: Request) -> Response:
    response = _html(request, "index.html")
    # Server-side trackers, as a typical shop sets them: the gate drops them until consent.
    response.set_cookie("_ga", f"GA1.1.{secrets.randbelow(10**9)}.1700000000", max_age=63_072_000)
    response.set_cookie("_fbp", f"fb.1.1700000000.{secrets.randbelow(10**9)}", max_age=7_776_000)
    response.set_cookie("lang", response.headers["content-language"], max_age=31_536_000)
    if "session" not in request.cookies:
        response.set_cookie("session", secrets.token_urlsafe(16), httponly=True, samesite="lax")
    return response


async def privacy(request: Request) -> Response:
    return _html(request, "privacy.html")


async def whoami(request: Request) -> Response:
    """What the app sees after the gate: the cookies that reached it and the query it got."""
    return JSONResponse(
        {
            "cookies": sorted(request.cookies),
            # The address the statutory access log records: uvicorn runs without proxy headers (see run).
            "client": request.client.host if request.client else None,
            "query": dict(request.query_params),
            "consent": get_consent(request.scope).as_public_dict(),
        }
    )


def build_site() -> Starlette:
    """The bare shop, without the gate (benchmarks serve it both ways)."""
    return Starlette(
        routes=[
            Route("/", home),
            Route("/privacy", privacy),
            Route("/whoami", whoami),
            Mount("/demo-static", app=StaticFiles(directory=_HERE / "static"), name="demo-static"),
        ]
    )


def create_app(data_dir: Path, policy: Policy | None = None, secret_keys: list[str] | None = None) -> ASGIApp:
    """The shop wrapped in the gate, with its stores under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = secret_keys or [_demo_key(data_dir)]
    return CookieGate(build_site(), secret_keys=keys, policy=policy, data_dir=data_dir)


def _demo_key(data_dir: Path) -> str:
    """A per-install key kept in the data folder, so consents survive a demo restart."""
    key_file = data_dir / "demo-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(32), encoding="ascii")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="ascii").strip()


def run(*, host: str, port: int, data_dir: Path) -> None:
    """Serve the demo (``cookiegate demo``); exits with status 2 when the port is taken."""
    from cookiegate.demo.command import serve

    status = serve(host, port, data_dir)
    if status:
        raise SystemExit(status)

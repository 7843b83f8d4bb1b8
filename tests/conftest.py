"""Shared fixtures: a tiny app that reports what it saw and sets the cookies it is told to."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.middleware import get_consent

SECRET = "test-secret-key-0123456789abcdef"


async def echo(request: Request) -> Response:
    """Reports the cookies and query the app received; sets every cookie named in ``?set=``."""
    consent = get_consent(request.scope)
    response = JSONResponse(
        {
            "cookies": dict(request.cookies),
            "cookie_header": request.headers.get("cookie"),
            "query": request.url.query,
            "granted": sorted(consent.granted),
        }
    )
    for name in request.query_params.getlist("set"):
        response.set_cookie(name, "v")
    if request.query_params.get("minor") == "1":
        response.headers["X-Cookiegate-Minor"] = "1"
    return response


async def page(request: Request) -> Response:
    return HTMLResponse("<!doctype html><html><head><title>t</title></head><body>hi</body></html>")


def tiny_app() -> Starlette:
    return Starlette(routes=[Route("/echo", echo), Route("/page", page)])


@pytest.fixture(autouse=True)
def _no_default_data_dir(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test that leaves the gate's default ``./cookiegate-data`` behind: tests write to temp dirs."""
    default = request.config.invocation_params.dir / "cookiegate-data"  # where pytest was started, not a chdir
    existed = default.exists()  # a developer's `make demo` data stays theirs
    yield
    if not existed and default.exists():
        pytest.fail(f"this test wrote {default.resolve()}: give its CookieGate a data_dir in tmp_path", pytrace=False)


def hold_counters_in_memory(gate: CookieGate) -> None:
    """No periodic drain of the blocked-cookie counters while a test runs (they still flush at shutdown).

    The flusher drains every 2 s in production; a test that reads ``services.leaks.snapshot()`` after a few
    requests would otherwise see only what arrived since a drain that happened to fall in between.
    """
    if gate.services.flusher is not None:
        gate.services.flusher.interval = 3600.0


@pytest.fixture
def gate_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient around ``CookieGate(tiny_app())`` with stores in ``tmp_path``."""
    clients: list[TestClient] = []

    def build(app: Any = None, *, lifespan: bool = True, **options: Any) -> TestClient:
        options.setdefault("secret_keys", [SECRET])
        options.setdefault("data_dir", tmp_path / "data")
        gate = CookieGate(app or tiny_app(), **options)
        hold_counters_in_memory(gate)
        client = TestClient(gate, base_url="http://shop.test")
        if lifespan:  # raw test apps that only speak HTTP opt out
            client.__enter__()
            clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def gate_of(client: TestClient) -> CookieGate:
    """The gate behind a ``gate_client`` client (``TestClient.app`` is typed as any ASGI app)."""
    gate = client.app
    assert isinstance(gate, CookieGate)
    return gate


def accept(client: TestClient, granted: list[str], under14: bool = False) -> dict[str, Any]:
    """Give consent through the API as the banner would; returns the consent record."""
    response = client.post("/_cookiegate/consent", json={"granted": granted, "under14": under14})
    assert response.status_code == 200, response.text
    return dict(response.json()["consent"])


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster for the session (see ``tests/pg_support.py``); skips outside CI without it."""
    from tests import pg_support

    reason = pg_support.missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true but PostgreSQL tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    with pg_support.running_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(pg_cluster: Any) -> Iterator[str]:
    """The URL of a fresh, empty database in the session's cluster (dropped after the test)."""
    name = pg_cluster.create_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """``store_url("access")``: the URL of a fresh store of each backend in turn (the store tests' parameter).

    SQLite gets a file per name in ``tmp_path``; PostgreSQL one fresh database whose schemas keep the stores
    apart, so every name maps to the same URL.
    """
    if request.param == "sqlite":
        return lambda name: f"sqlite:///{tmp_path / name}.db"
    url: str = request.getfixturevalue("postgres_url")
    return lambda name: url

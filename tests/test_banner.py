"""Banner tag injection into HTML responses, streamed, fixed-length, compressed or not HTML."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cookiegate import CookieGate

Client = Callable[..., TestClient]
PAGE = "<!doctype html><html><head><title>t</title></head><body>" + "x" * 600 + "</body></html>"
HTML = {"accept": "text/html,application/xhtml+xml"}


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


async def streamed(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"<html><head><title>s</title></he"
        yield b"ad><body>streamed"
        yield b"</body></html>"

    return StreamingResponse(chunks(), media_type="text/html")


async def fixed_stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"<html><head></head>"
        yield b"<body></body></html>"

    return StreamingResponse(chunks(), media_type="text/html", headers={"content-length": "39"})


async def already(request: Request) -> Response:
    script = '<script src="/_cookiegate/static/cookiegate.js" data-cookiegate-api="/_cookiegate"></script>'
    return HTMLResponse(f"<html><head>{script}</head></html>")


async def data(request: Request) -> Response:
    return JSONResponse({"html": "</head>"})


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/", page),
            Route("/stream", streamed),
            Route("/fixed", fixed_stream),
            Route("/already", already),
            Route("/data", data),
        ]
    )


def test_tag_goes_before_head_end_with_state_and_length_fixed(gate_client: Client) -> None:
    client = gate_client(app())
    response = client.get("/", headers=HTML)
    body = response.text
    assert body.count("data-cookiegate-state=") == 1
    assert body.index("data-cookiegate-state") < body.index("</head>")
    assert "&quot;chosen&quot;:false" in body
    assert int(response.headers["content-length"]) == len(response.content)


def test_streamed_html_gets_the_tag_even_when_head_end_is_split(gate_client: Client) -> None:
    body = gate_client(app()).get("/stream", headers=HTML).text
    assert body.count("data-cookiegate-state=") == 1
    assert body.endswith("</noscript>streamed</body></html>")  # the no-JS form right after <body>


def test_fixed_length_stream_and_pages_with_the_banner_are_left_alone(gate_client: Client) -> None:
    client = gate_client(app())
    assert "data-cookiegate-state" not in client.get("/fixed", headers=HTML).text
    assert client.get("/already", headers=HTML).text.count("data-cookiegate") == 1


def test_json_and_non_html_requests_are_untouched(gate_client: Client) -> None:
    client = gate_client(app())
    assert client.get("/data", headers=HTML).json() == {"html": "</head>"}
    assert "data-cookiegate" not in client.get("/").text  # no Accept: text/html (an API client)


def test_compressed_html_is_not_rewritten(gate_client: Client) -> None:
    inner = app()
    inner.add_middleware(GZipMiddleware, minimum_size=10)
    client = gate_client(inner)
    response = client.get("/", headers={**HTML, "accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "data-cookiegate" not in response.text  # the client decompressed it: the page itself is untouched


def test_bots_get_no_banner(gate_client: Client) -> None:
    client = gate_client(app())
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    assert "data-cookiegate" not in client.get("/", headers={**HTML, "user-agent": bot}).text
    chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
    assert "data-cookiegate" in client.get("/", headers={**HTML, "user-agent": chrome}).text


def test_reopen_links_do_not_count_as_the_banner(gate_client: Client) -> None:
    async def with_link(request: Request) -> Response:
        return HTMLResponse('<html><head></head><body><a data-cookiegate-open href="#">쿠키 설정</a></body></html>')

    client = gate_client(Starlette(routes=[Route("/", with_link)]))
    assert client.get("/", headers=HTML).text.count("data-cookiegate-state=") == 1


def test_banner_tags_are_built_once_per_consent_and_never_for_crawlers() -> None:
    from cookiegate.banner import Banner
    from cookiegate.consent import no_consent

    banner = Banner("/_cg", enabled=True)
    consent = no_consent("v1")
    tag = banner.tag_for(consent, b"Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0")
    assert tag is not None and b'data-cookiegate-api="/_cg"' in tag
    assert banner.tag_for(consent, b"Mozilla/5.0") is tag
    assert banner.tag_for(consent, b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)") is None
    assert Banner("/_cg", enabled=False).tag_for(consent, b"") is None


def test_a_visitor_who_chose_in_the_banner_keeps_it_whatever_their_user_agent() -> None:
    from dataclasses import replace

    from cookiegate.banner import Banner
    from cookiegate.consent import no_consent

    banner = Banner("/_cg", enabled=True)
    chosen = replace(no_consent("v1"), chosen=True)
    googlebot = b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    tag = banner.tag_for(chosen, googlebot)
    assert tag is not None and b"data-cookiegate-state=" in tag  # the way back to the settings stays on the page
    assert not banner._bots  # the chosen visitor's User-Agent was never looked up
    assert banner.tag_for(no_consent("v1"), googlebot) is None


def test_banner_caches_stay_within_their_bounds_under_new_visitors() -> None:
    from cookiegate.banner import BOT_CACHE_SIZE, TAG_CACHE_SIZE, Banner
    from cookiegate.consent import no_consent

    banner = Banner("/_cg", enabled=True)
    for n in range(max(BOT_CACHE_SIZE, TAG_CACHE_SIZE) + 10):
        assert banner.tag_for(no_consent(f"v{n}"), b"Mozilla/5.0 Firefox/%d" % n) is not None
    assert len(banner._bots) == BOT_CACHE_SIZE and len(banner._tags) == TAG_CACHE_SIZE


def _gzip_app(*, gzip_outside: bool, tmp_path: Path) -> Starlette:
    """The shop with GZipMiddleware and the gate; in Starlette the middleware added last runs first."""
    shop = Starlette(routes=[Route("/", page)])
    if gzip_outside:  # the order the warning asks for
        shop.add_middleware(CookieGate, secret_keys=["k" * 32], data_dir=tmp_path)
        shop.add_middleware(GZipMiddleware, minimum_size=10)
    else:
        shop.add_middleware(GZipMiddleware, minimum_size=10)
        shop.add_middleware(CookieGate, secret_keys=["k" * 32], data_dir=tmp_path)
    return shop


def test_html_compressed_inside_the_gate_warns_once_with_the_order_to_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gzip_headers = {**HTML, "accept-encoding": "gzip"}
    wrong_order = _gzip_app(gzip_outside=False, tmp_path=tmp_path)
    with caplog.at_level(logging.WARNING, logger="cookiegate"), TestClient(wrong_order) as client:
        for _ in range(3):
            assert "data-cookiegate" not in client.get("/", headers=gzip_headers).text
        client.get("/", headers={"accept": "application/json", "accept-encoding": "gzip"})
    warnings = [r.getMessage() for r in caplog.records if "already compressed" in r.getMessage()]
    assert len(warnings) == 1, "once, not once per request"
    assert "Content-Encoding: gzip" in warnings[0]
    assert "app.add_middleware(CookieGate, secret_keys=[...])\n    app.add_middleware(GZipMiddleware)" in warnings[0]


def test_gzip_outside_the_gate_gets_the_banner_and_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    right_order = _gzip_app(gzip_outside=True, tmp_path=tmp_path)
    with caplog.at_level(logging.WARNING, logger="cookiegate"), TestClient(right_order) as client:
        response = client.get("/", headers={**HTML, "accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.text.count("data-cookiegate-state=") == 1
    assert not [r for r in caplog.records if "already compressed" in r.getMessage()]

"""Crawl a site in headless Chromium and record which cookies each page sets, and how.

A real browser, because a plain HTTP client misses what matters most: cookies written by scripts
(analytics and ad tags) and everything a page's subresources set. The crawl follows same-origin links
breadth first up to a page limit, and consents to everything first (through the gate's consent API) so
the gate does not hide the cookies it would block.
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from cookiegate.knowledge.patterns import CATEGORIES
from cookiegate.set_cookies import set_cookie_name

Source = Literal["server", "script"]

#: Chromium flags for a scanner: no sandbox (often run as root in a container), no GPU, and none of the
#: browser's own background traffic, which would only add noise to what the site does.
CHROMIUM_ARGS: Final = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run")  # fmt: skip

#: Records every name a script writes through ``document.cookie`` (even when the value does not change),
#: before any page script runs.
_WATCH_COOKIE_WRITES: Final = """(() => {
  const native = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  if (!native || !native.set) return;
  const writes = [];
  Object.defineProperty(window, "__cookiegateScanWrites", { value: writes });
  Object.defineProperty(Document.prototype, "cookie", {
    configurable: true, enumerable: native.enumerable, get: native.get,
    set(value) {
      try { writes.push(String(value).split(";", 1)[0].split("=", 1)[0].trim()); } catch (e) {}
      return native.set.call(this, value);
    },
  });
})();"""


@dataclass(frozen=True, slots=True)
class Sighting:
    """One cookie set while loading one page: its name, who set it, and the cookie's domain."""

    name: str
    page: str
    source: Source
    domain: str


@dataclass(slots=True)
class ScanResult:
    """Everything one crawl saw; ``consent`` says how the scan got past the gate."""

    start_url: str
    consent: str
    pages: list[str] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def same_origin_links(base: str, hrefs: list[str], origin: tuple[str, str], skip_prefix: str) -> list[str]:
    """Absolute same-origin page URLs from ``hrefs``, without fragments and without the gate's own API."""
    links: list[str] = []
    for href in hrefs:
        url = urldefrag(urljoin(base, href)).url
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != origin or parts.path.startswith(skip_prefix):
            continue
        links.append(url)
    return links


def chromium_executable() -> str | None:
    """The system Chromium (Debian's ``chromium``), or None to use Playwright's own download."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _page_key(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def crawl(
    start_url: str,
    *,
    max_pages: int,
    prefix: str = "/_cookiegate",
    timeout_s: float = 15.0,
    on_page: Callable[[str, int], None] | None = None,
) -> ScanResult:
    """Visit up to ``max_pages`` same-origin pages from ``start_url``; ``on_page(url, done)`` after each."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    start = urlsplit(start_url)
    if start.scheme not in ("http", "https") or not start.netloc:
        raise ValueError(f"{start_url!r} is not an http(s) URL, e.g. http://127.0.0.1:8000/")
    origin = (start.scheme, start.netloc)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            context = browser.new_context(locale="ko-KR")
            context.set_default_timeout(timeout_s * 1000)
            context.add_init_script(_WATCH_COOKIE_WRITES)
            result = ScanResult(start_url, consent="")
            _accept_all(context, start_url, prefix, result)
            queue, queued = deque([urldefrag(start_url).url]), {urldefrag(start_url).url}
            while queue and len(result.pages) < max_pages:
                url = queue.popleft()
                try:
                    hrefs = _visit(context, url, result)
                except PlaywrightError as exc:
                    result.errors.append((_page_key(url), str(exc).splitlines()[0]))
                    hrefs = []
                result.pages.append(_page_key(url))
                for link in same_origin_links(url, hrefs, origin, prefix):
                    if link not in queued:
                        queued.add(link)
                        queue.append(link)
                if on_page is not None:
                    on_page(url, len(result.pages))
            context.close()
        finally:
            browser.close()
    return result


def _accept_all(context: Any, start_url: str, prefix: str, result: ScanResult) -> None:
    """Consent to every purpose through the gate's API (the jar then holds the consent cookie)."""
    from playwright.sync_api import Error as PlaywrightError

    endpoint = urljoin(start_url, prefix.rstrip("/") + "/consent")
    try:
        response = context.request.post(endpoint, data={"granted": list(CATEGORIES), "method": "api"})
    except PlaywrightError as exc:
        reason = str(exc).splitlines()[0]
        result.consent = f"no consent given: {endpoint} failed ({reason}); blocked cookies may be missing"
        return
    if not response.ok:
        result.consent = (f"no consent given: {endpoint} answered {response.status}; if the site runs cookiegate "
                          "under another prefix pass --prefix, else blocked cookies may be missing")  # fmt: skip
        return
    result.consent = f'scanned with consent "accept all" (POST {endpoint}), so the gate blocked nothing'
    # APIResponse.headers_array is a property; a page's Response has a method of the same name.
    _record_set_cookies([(endpoint, response.headers_array)], _page_key(endpoint), result)


def _record_set_cookies(responses: list[tuple[str, Any]], page: str, result: ScanResult) -> set[str]:
    """Record each name the Set-Cookie headers of ``(url, headers)`` responses set; returns the names."""
    names: set[str] = set()
    for url, headers in responses:
        for header in headers:
            if header["name"].lower() != "set-cookie":
                continue
            for line in header["value"].split("\n"):  # some network stacks join repeated headers
                name = set_cookie_name(line.encode("latin-1", "replace")).decode("latin-1").strip()
                if name and name not in names:
                    names.add(name)
                    result.sightings.append(Sighting(name, page, "server", urlsplit(url).hostname or ""))
    return names


def _visit(context: Any, url: str, result: ScanResult) -> list[str]:
    """Load one page; record what it set; return the hrefs of its links."""
    from playwright.sync_api import Error as PlaywrightError

    page = context.new_page()
    responses: list[Any] = []
    # A lambda, not the bound method: Playwright sets an attribute on the handler it is given.
    page.on("response", lambda response: responses.append(response))  # noqa: PLW0108
    try:
        before = {(c["name"], c["domain"], c["path"]): c["value"] for c in context.cookies()}
        page.goto(url, wait_until="load")
        with suppress(PlaywrightError):  # a page that keeps polling is scanned as it is after "load"
            page.wait_for_load_state("networkidle", timeout=5000)
        key = _page_key(url)
        server = _record_set_cookies([(r.url, r.headers_array()) for r in responses], key, result)
        writes = set(page.evaluate("window.__cookiegateScanWrites || []"))
        after = context.cookies()
        for cookie in after:
            name = cookie["name"]
            changed = before.get((name, cookie["domain"], cookie["path"])) != cookie["value"]
            if name not in server and (name in writes or changed):
                result.sightings.append(Sighting(name, key, "script", cookie["domain"].lstrip(".")))
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        return hrefs
    finally:
        page.close()

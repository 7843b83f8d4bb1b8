"""Locust traffic mix for the cookiegate hot path: the same requests against every variant.

Visitors (one user class each, weights from ``COOKIEGATE_BENCH_WEIGHTS``):

- ``returning``: a valid "accept all" consent cookie plus ``_ga``/``_fbp``/``lang``/``session`` (most traffic)
- ``new``: no consent cookie; gets the banner injected into HTML
- ``rejecter``: a valid "necessary only" consent, still sending old tracker cookies the gate strips
- ``minor``: an ``under14`` consent, visiting with ``?utm_source=x&gclid=y`` the gate cuts
- ``gpc``: "accept all" consent but ``Sec-GPC: 1`` (no targeting)
- ``bot``: Googlebot, no cookies
- ``consent``: the consent POST itself (``POST /_cookiegate/consent``; a 404 on the bare app, as expected)

Environment (``run.py`` sets all of these; every one has a default so ``locust -f`` works by hand):

- ``COOKIEGATE_BENCH_WEIGHTS``: e.g. ``returning=60,new=15,rejecter=8,minor=4,gpc=5,bot=7,consent=1``
- ``COOKIEGATE_BENCH_RATE``: total requests/s for all users together (each user paced
  at ``RATE / USERS`` at a random phase); ``0`` = max rate
- ``COOKIEGATE_BENCH_USERS``: the ``-u`` given to Locust (to split the rate per user)
- ``COOKIEGATE_BENCH_TOKEN_FILE``: JSON ``{"all": [...], "reject": [...], "minor": [...]}`` of consent tokens;
  without it each consenting user POSTs its consent in ``on_start`` (gated variants only)
- ``COOKIEGATE_BENCH_UA_VARIETY``: how many distinct browser User-Agents the visitors use (default 200)
- ``COOKIEGATE_BENCH_CHURN``: ``1`` = every request comes from a fresh visitor identity (soak mode)
- ``COOKIEGATE_BENCH_VARIANT``: a variant without the consent API (``NO_CONSENT_API``) makes the POST's 404 a success
- ``COOKIEGATE_BENCH_WARMUP``: seconds after the test starts before latencies are recorded
- ``COOKIEGATE_BENCH_LATENCY_OUT``: file for the exact latencies (raw float64 ms; Locust's own
  percentiles round to whole ms) and ``<file>.json`` with the request and failure counts
"""

from __future__ import annotations

import json
import os
import random
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from locust import FastHttpUser, constant, events, task
from visitors import browser_user_agent

DEFAULT_WEIGHTS = "returning=60,new=15,rejecter=8,minor=4,gpc=5,bot=7,consent=1"
WEIGHTS = {
    name.strip(): int(weight)
    for name, _, weight in (
        item.partition("=") for item in os.environ.get("COOKIEGATE_BENCH_WEIGHTS", DEFAULT_WEIGHTS).split(",")
    )
    if name.strip()
}
RATE = float(os.environ.get("COOKIEGATE_BENCH_RATE", "0"))
USERS = max(1, int(os.environ.get("COOKIEGATE_BENCH_USERS", "100")))
UA_VARIETY = max(1, int(os.environ.get("COOKIEGATE_BENCH_UA_VARIETY", "200")))
CHURN = os.environ.get("COOKIEGATE_BENCH_CHURN", "0") == "1"
VARIANT = os.environ.get("COOKIEGATE_BENCH_VARIANT", "")
#: Variants serving the shop without the gate's consent API: the consent POST is a 404 there, as expected.
NO_CONSENT_API = ("bare", "uvicorn_access_log", "floor")
WARMUP = float(os.environ.get("COOKIEGATE_BENCH_WARMUP", "0"))
LATENCY_OUT = os.environ.get("COOKIEGATE_BENCH_LATENCY_OUT", "")
_token_file = os.environ.get("COOKIEGATE_BENCH_TOKEN_FILE", "")
TOKENS: dict[str, list[str]] = json.loads(Path(_token_file).read_text()) if _token_file else {}

HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _visitor_ua() -> str:
    return browser_user_agent(random.randrange(UA_VARIETY))


def _tracker_cookies() -> str:
    return (
        f"_ga=GA1.1.{random.randrange(10**9)}.1700000000; _fbp=fb.1.1700000000.{random.randrange(10**9)}; "
        f"lang=ko; session={random.getrandbits(96):024x}"
    )


def paced(interval: float) -> Callable[[Any], float]:
    """One task every ``interval`` seconds per user, each user at its own random phase.

    Locust's ``constant_throughput`` keeps every user on the phase of its creation, and users spawned in
    the same second then fire in bursts (100 requests at once every 100 ms): the queue behind each burst,
    not the server, would set the latencies measured.
    """

    def wait_time(user: Any) -> float:
        now = time.perf_counter()
        due = getattr(user, "_bench_due", None)
        due = now + random.uniform(0, interval) if due is None else max(due + interval, now)
        user._bench_due = due
        return due - now

    return wait_time


def _wait_time() -> Callable[[Any], float]:
    return constant(0) if RATE <= 0 else paced(USERS / RATE)


class Visitor(FastHttpUser):
    """A browser visitor: a User-Agent, cookies and pages; subclasses say which cookies."""

    abstract = True
    wait_time = _wait_time()
    token_kind: ClassVar[str | None] = None
    granted: ClassVar[list[str]] = []
    under14: ClassVar[bool] = False
    extra_headers: ClassVar[dict[str, str]] = {}
    query: ClassVar[str] = ""
    # (path, weight): pages mostly, some static files, as a browser's requests to a small shop.
    pages: ClassVar[tuple[tuple[str, int], ...]] = (("/", 6), ("/privacy", 2), ("/demo-static/shop.css", 1))

    def on_start(self) -> None:
        self.token = ""
        if self.token_kind is not None and not TOKENS:
            self.token = self._post_consent()
        self._new_identity()

    def _new_identity(self) -> None:
        cookies = self._cookies()
        self.headers = {"User-Agent": _visitor_ua(), "Accept": HTML_ACCEPT, **self.extra_headers}
        if cookies:
            self.headers["Cookie"] = cookies

    def _cookies(self) -> str:
        if self.token_kind is None:
            return ""
        token = random.choice(TOKENS[self.token_kind]) if TOKENS else self.token
        return f"cookiegate={token}; {_tracker_cookies()}"

    def _post_consent(self) -> str:
        response = self.client.post(
            "/_cookiegate/consent",
            json={"granted": self.granted, "under14": self.under14},
            headers={"Sec-Fetch-Site": "same-origin"},
            name="consent POST (on_start)",
        )
        cookie = response.headers.get("set-cookie", "") if response.headers else ""
        if isinstance(cookie, list):  # geventhttpclient gives a list when there are several Set-Cookie lines
            cookie = ";".join(cookie)
        for part in cookie.replace(",", ";").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "cookiegate":
                return value
        return ""

    @task
    def visit(self) -> None:
        if CHURN:
            self._new_identity()
        paths, weights = zip(*self.pages, strict=True)
        path = random.choices(paths, weights)[0]
        self.client.get(path + self.query, headers=self.headers, name=path)


class ReturningVisitor(Visitor):
    weight = WEIGHTS.get("returning", 0)
    abstract = weight == 0
    token_kind = "all"
    granted: ClassVar[list[str]] = ["functional", "analytics", "targeting"]


class NewVisitor(Visitor):
    weight = WEIGHTS.get("new", 0)
    abstract = weight == 0

    def _cookies(self) -> str:
        return f"_ga=GA1.1.{random.randrange(10**9)}.1700000000; lang=ko" if random.random() < 0.3 else ""


class Rejecter(Visitor):
    weight = WEIGHTS.get("rejecter", 0)
    abstract = weight == 0
    token_kind = "reject"
    granted: ClassVar[list[str]] = []


class MinorVisitor(Visitor):
    weight = WEIGHTS.get("minor", 0)
    abstract = weight == 0
    token_kind = "minor"
    granted: ClassVar[list[str]] = ["functional", "analytics"]
    under14 = True
    query = "?utm_source=x&gclid=y&item=3"


class GPCVisitor(Visitor):
    weight = WEIGHTS.get("gpc", 0)
    abstract = weight == 0
    token_kind = "all"
    granted: ClassVar[list[str]] = ["functional", "analytics", "targeting"]
    extra_headers: ClassVar[dict[str, str]] = {"Sec-GPC": "1"}


class Bot(Visitor):
    weight = WEIGHTS.get("bot", 0)
    abstract = weight == 0

    pages: ClassVar[tuple[tuple[str, int], ...]] = (("/", 3), ("/privacy", 1))

    def _new_identity(self) -> None:
        self.headers = {"User-Agent": GOOGLEBOT, "Accept": HTML_ACCEPT}


class ConsentGiver(FastHttpUser):
    """The consent POST a banner click sends (signs a token and appends to the ledger)."""

    weight = WEIGHTS.get("consent", 0)
    abstract = weight == 0
    wait_time = _wait_time()

    @task
    def give_consent(self) -> None:
        body = {
            "granted": random.choice((["analytics"], [], ["functional", "analytics", "targeting"])),
            "under14": False,
        }
        headers = {"Sec-Fetch-Site": "same-origin", "User-Agent": _visitor_ua(), "Accept": "application/json"}
        with self.client.post(
            "/_cookiegate/consent", json=body, headers=headers, name="consent POST", catch_response=True
        ) as response:
            if response.status_code == 404 and VARIANT in NO_CONSENT_API:
                response.success()


# Latencies exactly as measured (Locust's own percentiles round to whole milliseconds below 100 ms).
_latencies = array("d")
_failures = [0]
_started = [0.0]


def _on_test_start(**_: Any) -> None:
    _started[0] = time.monotonic()


def _on_request(response_time: float, exception: BaseException | None, name: str, **_: Any) -> None:
    if name == "consent POST (on_start)" or time.monotonic() - _started[0] < WARMUP:
        return
    if exception is not None:
        _failures[0] += 1
    _latencies.append(response_time)


def _on_quitting(**_: Any) -> None:
    if not LATENCY_OUT:
        return
    with open(LATENCY_OUT, "wb") as f:  # raw float64 ms: run.py merges rounds before taking percentiles
        _latencies.tofile(f)
    Path(LATENCY_OUT + ".json").write_text(json.dumps({"requests": len(_latencies), "failures": _failures[0]}))


# Registered by call, not as decorators: locust's ``EventHook.add_listener`` is unannotated, and as a decorator
# it would make each listener untyped.
events.test_start.add_listener(_on_test_start)
events.request.add_listener(_on_request)
events.quitting.add_listener(_on_quitting)

"""Report-only mode (as ``Content-Security-Policy-Report-Only``): decide and count as enforce mode, block nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import accept, gate_of

Client = Callable[..., TestClient]
TRACKERS = {"_ga": "GA1", "_fbp": "fb.1", "mystery_id": "x", "session": "s1", "lang": "ko"}
HTML = {"accept": "text/html,application/xhtml+xml"}


def _visit(client: TestClient) -> list[Any]:
    """A new visitor with tracker cookies browses, then accepts analytics only and browses on.

    The jar is reset to the same cookies before each request: enforce mode expires blocked cookies and
    report mode does not, and the comparison is of decisions on equal requests.
    """
    _jar(client, TRACKERS)
    seen = [client.get("/echo?set=_ga&set=_fbp&set=mystery_id&set=session&set=lang")]
    _jar(client, TRACKERS)
    seen.append(client.get("/page", headers=HTML))
    accept(client, ["analytics"])
    _jar(client, {**TRACKERS, "_fbp": "fb.2"})
    seen.append(client.get("/echo?set=_ga&set=_fbp"))
    return seen


def _jar(client: TestClient, cookies: dict[str, str]) -> None:
    """Exactly ``cookies`` plus the consent cookie, whatever the last response set or expired."""
    consent = client.cookies.get("cookiegate")
    client.cookies.clear()
    client.cookies.update({**cookies, **({"cookiegate": consent} if consent else {})})


def _set_names(response: Any) -> set[str]:
    return {h.split("=", 1)[0] for h in response.headers.get_list("set-cookie")}


def test_report_mode_blocks_nothing(gate_client: Client) -> None:
    client = gate_client(mode="report")
    first, page, after = _visit(client)
    assert first.json()["cookies"] == TRACKERS  # the app sees every cookie the browser sent
    assert first.json()["granted"] == ["necessary"]  # ... while the consent it reads is the real one
    assert _set_names(first) == {"_ga", "_fbp", "mystery_id", "session", "lang"}
    assert not any("Max-Age=0" in h for r in (first, page, after) for h in r.headers.get_list("set-cookie"))
    assert after.json()["cookies"]["_fbp"] == "fb.2"
    assert after.json()["granted"] == ["analytics", "necessary"]
    assert {"_ga", "_fbp"} <= _set_names(after)


def test_report_mode_counts_exactly_what_enforce_mode_blocks(gate_client: Client) -> None:
    enforce, report = gate_client(), gate_client(mode="report")
    _visit(enforce)
    _visit(report)
    would_block = gate_of(report).services.leaks.snapshot()
    blocked = gate_of(enforce).services.leaks.snapshot()
    # The consent API's own expiries of refused cookies are not sent in report mode (they would delete
    # cookies), so only enforce mode has response counts under the prefix; every page counts the same.
    assert {k: v for k, v in blocked.items() if not (k[0] == "response" and k[2].startswith("/_cookiegate"))} == (
        would_block
    )
    pages = {k: v for k, v in would_block.items() if not k[2].startswith("/_cookiegate")}
    assert pages == {
        ("request", "_ga", "/echo"): 1,  # analytics, before consent
        ("request", "_fbp", "/echo"): 2,  # targeting, before and after consent to analytics
        ("request", "mystery_id", "/echo"): 2,  # unknown: treated as targeting
        ("request", "lang", "/echo"): 2,  # functional
        ("request", "_ga", "/page"): 1,
        ("request", "_fbp", "/page"): 1,
        ("request", "mystery_id", "/page"): 1,
        ("request", "lang", "/page"): 1,
        ("response", "_ga", "/echo"): 1,  # Set-Cookie before consent ...
        ("response", "_fbp", "/echo"): 2,  # ... and targeting after consent to analytics only
        ("response", "mystery_id", "/echo"): 1,
        ("response", "lang", "/echo"): 1,
    }


def test_report_mode_consent_api_expires_nothing(gate_client: Client) -> None:
    client = gate_client(mode="report")
    _jar(client, TRACKERS)
    answer = client.post("/_cookiegate/consent", json={"granted": [], "cookies": list(TRACKERS)})
    assert answer.json()["expired"] == []  # the banner clears nothing either
    assert not any("Max-Age=0" in h for h in answer.headers.get_list("set-cookie"))
    assert set(client.get("/echo").json()["cookies"]) == {*TRACKERS, "cookiegate"}


def test_report_mode_keeps_the_banner_and_the_consent_api(gate_client: Client) -> None:
    client = gate_client(mode="report")
    page = client.get("/page", headers=HTML)
    assert '<script defer src="/_cookiegate/static/cookiegate' in page.text
    record = accept(client, ["functional"])
    assert set(record["granted"]) == {"functional", "necessary"}
    assert client.get("/echo").json()["granted"] == ["functional", "necessary"]


def test_report_mode_still_resolves_gpc_and_counts_what_it_would_block(gate_client: Client) -> None:
    client = gate_client(mode="report")
    accept(client, ["functional", "analytics", "targeting"])
    seen = client.get("/echo?set=_fbp", headers={"sec-gpc": "1"})
    assert "targeting" not in seen.json()["granted"]  # the app is told the truth ...
    assert "_fbp" in _set_names(seen)  # ... but nothing is blocked
    counts = gate_of(client).services.leaks.snapshot()
    assert counts[("response", "_fbp", "/echo")] == 1


def test_report_mode_says_so_at_start(gate_client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="cookiegate"):
        gate_client(mode="report")
    assert "report-only mode" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="cookiegate"):
        gate_client()
    assert "report-only" not in caplog.text


def test_an_unknown_mode_is_refused_with_the_fix(gate_client: Client) -> None:
    with pytest.raises(ValueError, match="enforce"):
        gate_client(mode="audit")

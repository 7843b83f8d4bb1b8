"""A child's request: marketing identifiers in every URL shape, the path and the Referer never reach the app."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Scope

from tests.hostile.harness import (
    ALL,
    Outcome,
    allowed,
    assert_holds,
    consent_cookie,
    http_scope,
    make_gate,
    recording_app,
    run,
    run_counting_calls,
)

CHILD = allowed(ALL, minor=True)


def _child(
    tmp_path: Path, *, path: str = "/page", query: bytes = b"", headers: Sequence[tuple[bytes, bytes]] = ()
) -> Outcome:
    gate = make_gate(tmp_path, recording_app())
    cookie = (b"cookie", consent_cookie(ALL, under14=True))
    return run(gate, http_scope(path, query, headers=[cookie, *headers]))


@pytest.mark.parametrize(
    "query",
    [
        b"gclid[]=1&q=1",
        b"gclid[0]=1&q=1",
        b"%67clid=1&q=1",
        b"%2567clid=1&q=1",
        b"GcLiD=1&q=1",
        b";gclid=1&q=1",
        b"q=1;gclid=2",
        b"q=1;utm_source=2;utm_medium=3",
        b"utm.source=1&q=1",
        b"utm+source=1&q=1",
        b"utm%20campaign=1",
        b"%EF%BD%87clid=1",
        b"gclid%00=1",
        b"+gclid=1",
        b"fbclid",
        b"FBCLID=&q=",
        b"_hsenc=1&mc_cid=2&n_media=3",
        b"utm_=1",
        b"utm_source=a&utm_source=b",
    ],
)
def test_marketing_names_in_other_shapes(tmp_path: Path, query: bytes) -> None:
    outcome = _child(tmp_path, query=query)
    assert_holds(outcome, CHILD, minor=True)


@pytest.mark.parametrize(
    "path",
    ["/shop;gclid=1/item", "/shop;utm_source=x;utm_medium=y", "/;fbclid=1", "/a;jsessionid=1;gclid=2/b"],
)
def test_path_parameters(tmp_path: Path, path: str) -> None:
    outcome = _child(tmp_path, path=path)
    assert_holds(outcome, CHILD, minor=True)
    assert outcome.app_scope is not None
    assert ("jsessionid" in outcome.app_scope["path"]) == ("jsessionid" in path)  # other parameters stay


@pytest.mark.parametrize(
    "referer",
    [
        b"https://shop.test/p?gclid=1&utm_source=ig&q=mug",
        b"https://shop.test/p;gclid=1?x=1",
        b"https://ads.test/?fbclid=1#utm_campaign=x",
        b"https://shop.test/p?%67clid=1",
        b"https://shop.test/p?q=1;gclid=2",
        b"\xff\xfe?gclid=1",
    ],
)
def test_referer_is_cleaned(tmp_path: Path, referer: bytes) -> None:
    outcome = _child(tmp_path, headers=[(b"referer", referer)])
    assert_holds(outcome, CHILD, minor=True)
    assert outcome.app_header(b"referer"), "the Referer itself stays (cleaned), sites use it for navigation"


def test_a_forged_query_of_thousands_of_params(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, recording_app())
    cookie = (b"cookie", consent_cookie(ALL, under14=True))
    run(gate, http_scope("/page", b"q=1&gclid=1", headers=[cookie]))
    _, few_calls = run_counting_calls(gate, http_scope("/page", b"q=1&gclid=1", headers=[cookie]))
    query = b"&".join(b"k%d=1" % i for i in range(20_000)) + b"&gclid=1"
    outcome, calls = run_counting_calls(gate, http_scope("/page", query, headers=[cookie]))
    assert_holds(outcome, CHILD, minor=True)
    assert calls <= few_calls + 5_000, "parameters past a cap are not examined one by one"


@pytest.mark.parametrize("source", ["hook", "child_directed", "gpc-is-not-minor"])
def test_every_source_of_minor_status_strips(tmp_path: Path, source: str) -> None:
    def hook(scope: Scope) -> bool:
        return True

    choices: dict[str, dict[str, Any]] = {"hook": {"is_minor": hook}, "child_directed": {"child_directed": True}}
    options = choices.get(source, {})
    gate = make_gate(tmp_path, recording_app(), **options)
    headers = [(b"cookie", consent_cookie(ALL)), (b"referer", b"https://x.test/?gclid=1")]
    if source == "gpc-is-not-minor":
        headers.append((b"sec-gpc", b"1"))
    outcome = run(gate, http_scope(query=b"gclid=1&q=1", headers=headers, path="/a;gclid=2"))
    minor = source != "gpc-is-not-minor"
    assert_holds(outcome, allowed(ALL, minor=True), minor=minor)
    if not minor:
        assert outcome.app_scope is not None and outcome.app_scope["query_string"] == b"gclid=1&q=1"

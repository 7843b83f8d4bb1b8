"""Hostile bodies, headers and methods at the consent API: always a 4xx with a message, never a 500."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.hostile.harness import Outcome, allowed, assert_holds, http_scope, make_gate, recording_app, run

NONE = allowed(None)
JSON = (b"content-type", b"application/json")
FORM = (b"content-type", b"application/x-www-form-urlencoded")


def _post(tmp_path: Path, body: bytes, headers: list[tuple[bytes, bytes]], method: str = "POST") -> Outcome:
    gate = make_gate(tmp_path, recording_app())
    outcome = run(gate, http_scope("/_cookiegate/consent", method=method, headers=headers), body)
    assert_holds(outcome, allowed(["functional", "analytics", "targeting"]))
    return outcome


def _assert_clear_4xx(outcome: Outcome, status: int | None = None) -> None:
    assert 400 <= outcome.status < 500, (outcome.status, outcome.body[:200])
    if status is not None:
        assert outcome.status == status
    error = orjson.loads(outcome.body)
    assert error["error"] and error["detail"]
    assert not any(v.startswith(b"cookiegate=") for v in outcome.set_cookies())


@pytest.mark.parametrize(
    "body",
    [
        b'{"granted": [' + b"[" * 1000 + b"]" * 1000 + b"]}",
        b'{"granted": [' + b'{"a":' * 900 + b"1" + b"}" * 900 + b"]}",
        b"[" * 1100 + b"]" * 1100,
        b'{"granted": [], "cookies": [' + b"[" * 1000 + b"]" * 1000 + b"]}",
        b'{"granted": [], "locale": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    ],
)
def test_deeply_nested_json(tmp_path: Path, body: bytes) -> None:
    _assert_clear_4xx(_post(tmp_path, body, [JSON]))


@pytest.mark.parametrize("fields", [51, 200, 2000])
def test_forms_with_too_many_fields(tmp_path: Path, fields: int) -> None:
    body = b"&".join(b"granted=analytics" for _ in range(fields))[:16_000]
    outcome = _post(tmp_path, body, [FORM])
    if body.count(b"&") + 1 > 50:
        _assert_clear_4xx(outcome, 413)


@pytest.mark.parametrize(
    "body",
    [
        b'{"granted": null}',
        b'{"granted": {}}',
        b'{"granted": [null]}',
        b'{"granted": [true]}',
        b'{"granted": [], "under14": 1}',
        b'{"granted": [], "under14": null}',
        b'{"granted": [], "method": []}',
        b'{"granted": [], "method": {}}',
        b'{"granted": [], "locale": 5}',
        b'{"granted": [], "cookies": "x"}',
        b'{"granted": [], "cookies": [1]}',
        b'{"granted": [], "cookies": ["' + b"x" * 300 + b'"]}',
        b'{"granted": ["' + b"\\ud800" + b'"]}',
        b"\xef\xbb\xbf{}",
        b"null",
        b"1e999999",
        b"",
        b" ",
    ],
)
def test_wrong_types_and_odd_json(tmp_path: Path, body: bytes) -> None:
    _assert_clear_4xx(_post(tmp_path, body, [JSON]))


@pytest.mark.parametrize("length", [b"9" * 5000, b"-1", b"1e3", b"0x10", b"\xd9\xa1", b"99999999999", b" 12"])
def test_content_length_lies(tmp_path: Path, length: bytes) -> None:
    _assert_clear_4xx(_post(tmp_path, b'{"granted": []}', [JSON, (b"content-length", length)]))


def test_body_streamed_past_the_limit(tmp_path: Path) -> None:
    _assert_clear_4xx(_post(tmp_path, b'{"granted": [' + b'"analytics",' * 5000 + b"]}", [JSON]), 413)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"sec-fetch-site", b"cross-site")],
        [(b"sec-fetch-site", b"same-site")],
        [(b"origin", b"null")],
        [(b"origin", b"https://evil.test"), (b"host", b"shop.test")],
        [(b"origin", b"https://shop.test.evil.test"), (b"host", b"shop.test")],
        [(b"origin", b"\xff"), (b"host", b"shop.test")],
    ],
)
def test_cross_site_forgeries(tmp_path: Path, headers: list[tuple[bytes, bytes]]) -> None:
    _assert_clear_4xx(_post(tmp_path, b'{"granted": ["targeting"]}', [JSON, *headers]), 403)


@pytest.mark.parametrize(
    "content_type",
    [b"text/plain", b"multipart/form-data; boundary=x", b"application/json-patch+json", b"", b"\xff", b";"],
)
def test_unsupported_content_types(tmp_path: Path, content_type: bytes) -> None:
    _assert_clear_4xx(_post(tmp_path, b'{"granted": []}', [(b"content-type", content_type)]), 415)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "TRACE", "OPTIONS", "CONNECT", "G\xffT"])
def test_methods(tmp_path: Path, method: str) -> None:
    _assert_clear_4xx(_post(tmp_path, b"", [], method=method), 405)


@pytest.mark.parametrize("host", [b"[", b"a b", b"\xff", b"shop.test:99999", b""])
def test_broken_host_headers(tmp_path: Path, host: bytes) -> None:
    outcome = _post(tmp_path, b'{"granted": []}', [JSON, (b"host", host)])
    assert outcome.status == 200


@pytest.mark.parametrize(
    "target",
    ["//evil.test", "/\\evil.test", "https://evil.test", "/%0d%0aSet-Cookie:x=1", "/ok\u2028", "\\\\evil", "/a\x00"],
)
def test_form_return_to_stays_on_site(tmp_path: Path, target: str) -> None:
    from urllib.parse import quote

    body = b"choice=reject_all&return_to=" + quote(target, safe="").encode()
    outcome = _post(tmp_path, body, [FORM])
    assert outcome.status == 303
    location = dict(outcome.headers)[b"location"]
    assert location.startswith(b"/") and not location.startswith((b"//", b"/\\")), location
    assert b"\r" not in location and b"\n" not in location

"""The consent choice in a request body: every malformed field a clear 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from cookiegate.api import safe_return_path
from cookiegate.api.choices import Choice, parse_form_choice, parse_json_choice
from cookiegate.policy import CATEGORIES

Client = Callable[..., TestClient]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"\xff\xfe\x00", "application/json", 400, "invalid_json"),
        (b"[]", "application/json", 422, "invalid_body"),
        (b'{"granted": "all"}', "application/json", 422, "invalid_granted"),
        (b'{"granted": ["marketing"]}', "application/json", 422, "unknown_category"),
        (b'{"granted": [1]}', "application/json", 422, "unknown_category"),
        (b'{"granted": [], "under14": "no"}', "application/json", 422, "invalid_under14"),
        (b'{"granted": [], "locale": "fr"}', "application/json", 422, "invalid_locale"),
        (b'{"granted": [], "method": "gpc"}', "application/json", 422, "invalid_method"),
        (b"granted=analytics", "text/plain", 415, "unsupported_media_type"),
        (b"choice=everything", "application/x-www-form-urlencoded", 422, "invalid_choice"),
        (b"granted=%FF\xff", "application/x-www-form-urlencoded", 400, "invalid_form"),
        (b'{"granted": [' + b'"analytics",' * 3000 + b'"analytics"]}', "application/json", 413, "too_large"),
        (b'{"granted": [' + b"[" * 1000 + b"]" * 1000 + b"]}", "application/json", 422, "unknown_category"),
        (b"[" * 2000 + b"]" * 2000, "application/json", 400, "invalid_json"),
        (b'{"granted": [], "method": []}', "application/json", 422, "invalid_method"),
        (b"&".join(b"f%d=1" % i for i in range(60)), "application/x-www-form-urlencoded", 413, "too_many_fields"),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(
    gate_client: Client, body: bytes, content_type: str, status: int, error: str
) -> None:
    client = gate_client()
    response = client.post("/_cookiegate/consent", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "cookiegate" not in client.cookies


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/cart", "/cart"), ("//evil.test/x", "/"), ("https://evil.test", "/"), ("/\\evil.test", "/"), ("", "/")],
)
def test_form_redirect_stays_on_site(target: str, expected: str) -> None:
    assert safe_return_path(target) == expected


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"granted": [], "locale": ["ko"]}', "invalid_locale"),
        (b'{"granted": [], "locale": {"a": 1}}', "invalid_locale"),
        (b'{"granted": [], "method": {"a": 1}}', "invalid_method"),
        (b'{"granted": [], "cookies": "_ga"}', "invalid_cookies"),
        (b'{"granted": [], "cookies": ["' + b"x" * 300 + b'"]}', "invalid_cookies"),
    ],
)
def test_a_list_or_object_where_a_word_belongs_is_a_422(gate_client: Client, body: bytes, error: str) -> None:
    response = gate_client().post("/_cookiegate/consent", content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error"]) == (422, error)


def test_a_form_is_read_as_a_browser_sends_it() -> None:
    body = b"granted=analytics&granted=functional&under14=on&locale=fr&return_to=%2F%2Fevil.test"
    choice = parse_form_choice(body)
    assert choice == Choice(("analytics", "functional"), True, None, "form", return_to="/")
    assert parse_form_choice(b"choice=accept_all&locale=en").granted == CATEGORIES
    assert parse_form_choice(b"choice=reject_all&granted=analytics").granted == ()


def test_the_banner_json_keeps_its_method_and_the_cookie_names_it_sees() -> None:
    body = b'{"granted": ["analytics"], "under14": false, "method": "banner", "locale": "en", "cookies": ["_ga"]}'
    choice = parse_json_choice(body)
    assert choice == Choice(("analytics",), False, "en", "banner", browser_cookies=("_ga",))
    assert parse_json_choice(b'{"granted": []}').method == "api"


def test_a_media_type_with_parameters_is_understood(gate_client: Client) -> None:
    client = gate_client()
    response = client.post(
        "/_cookiegate/consent",
        content=b'{"granted": ["analytics"]}',
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )
    assert response.status_code == 200 and response.json()["consent"]["granted"] == ["necessary", "analytics"]


def test_a_form_post_never_redirects_off_the_site(gate_client: Client) -> None:
    client = gate_client()
    response = client.post(
        "/_cookiegate/consent", data={"choice": "reject_all", "return_to": "https://evil.test/"}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/")

"""How the consent API says no: one JSON shape, a status that says what kind of problem it is."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.testclient import TestClient

from cookiegate.api import APIError
from cookiegate.api.errors import json_response

Client = Callable[..., TestClient]


def test_a_wrong_method_is_a_405_that_names_the_methods_the_route_serves(gate_client: Client) -> None:
    response = gate_client().put("/_cookiegate/consent", json={})
    assert response.status_code == 405
    assert response.json() == {"error": "method_not_allowed", "detail": "use GET, HEAD, POST, DELETE"}
    assert response.headers["content-type"] == "application/json"


def test_an_error_answer_carries_its_code_and_detail() -> None:
    response = APIError(422, "unknown_category", "'ads' is not a category").response()
    assert response.status_code == 422
    assert orjson.loads(response.body) == {"error": "unknown_category", "detail": "'ads' is not a category"}


def test_korean_text_is_sent_as_utf8_not_escaped() -> None:
    response = json_response({"name": "맞춤형 광고 쿠키"}, headers={"content-language": "ko"})
    assert "맞춤형".encode() in response.body and response.headers["content-language"] == "ko"

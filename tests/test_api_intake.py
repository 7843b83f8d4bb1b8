"""What a consent change must pass first: a same-site origin and a bounded body."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anyio
import pytest
from starlette.testclient import TestClient
from starlette.types import Message

from cookiegate.api import APIError
from cookiegate.api.intake import MAX_BODY_BYTES, read_body

Client = Callable[..., TestClient]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Origin": "https://evil.test"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": "http://shop.test", "Sec-Fetch-Site": "same-origin"}, 200),
        ({}, 200),
    ],
)
def test_cross_site_changes_are_refused(gate_client: Client, headers: dict[str, str], status: int) -> None:
    client = gate_client()
    response = client.post("/_cookiegate/consent", json={"granted": ["targeting"], "under14": False}, headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"] == "cross_site"
        assert "cookiegate" not in client.cookies
        assert client.delete("/_cookiegate/consent", headers=headers).status_code == 403


@pytest.mark.parametrize("length", ["9" * 5000, "١٢", "-1", "1e3"])
def test_a_broken_content_length_is_a_413(gate_client: Client, length: str) -> None:
    client = gate_client()
    response = client.post(
        "/_cookiegate/consent",
        content=b'{"granted": []}',
        headers={b"content-type": b"application/json", b"content-length": length.encode()},
    )
    assert response.status_code == 413


def test_a_streamed_body_over_the_limit_is_a_413_without_a_content_length(gate_client: Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"granted": ['
        for _ in range(MAX_BODY_BYTES // 1000 + 1):
            yield b'"analytics",' * 83 + b" "
        yield b'"analytics"]}'

    client = gate_client()
    response = client.post("/_cookiegate/consent", content=chunks(), headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error"]) == (413, "too_large")
    assert "cookiegate" not in client.cookies


def test_a_body_at_the_limit_is_read_whole(gate_client: Client) -> None:
    body = b'{"granted": ["analytics"]}'
    body += b" " * (MAX_BODY_BYTES - len(body))
    response = gate_client().post("/_cookiegate/consent", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_a_client_that_goes_away_mid_body_is_a_400() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"granted": [', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    async def read() -> None:
        with pytest.raises(APIError) as caught:
            await read_body(receive, {})
        assert (caught.value.status, caught.value.code) == (400, "disconnected")

    anyio.run(read)


def test_the_guardian_call_has_the_same_body_limit(gate_client: Client) -> None:
    response = gate_client().post("/_cookiegate/guardian", content=b"x" * (MAX_BODY_BYTES + 1))
    assert (response.status_code, response.json()["error"]) == (413, "too_large")

"""The visitor's own page: consent history and how to make a 열람·삭제 request (개인정보 보호법 제35조~제37조)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from tests.conftest import accept

Client = Callable[..., TestClient]


def test_article35_visitor_sees_their_consent_history_and_how_to_ask(gate_client: Client) -> None:
    client = gate_client()
    empty = client.get("/_cookiegate/my-data")
    assert empty.status_code == 200 and "아직 저장된 선택이 없습니다" in empty.text
    record = accept(client, ["analytics"])
    accept(client, [])
    page = client.get("/_cookiegate/my-data")
    assert page.headers["content-type"].startswith("text/html")
    assert record["consent_id"] in page.text
    assert page.text.count("<tr>") == 3  # header + two events
    assert "분석 쿠키" in page.text and "10일 안에 답변" in page.text and "시행령 제41조" in page.text
    english = client.get("/_cookiegate/my-data?locale=en")
    assert "within 10 days" in english.text and "Analytics" in english.text
    assert client.post("/_cookiegate/my-data").status_code == 405

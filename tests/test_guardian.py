"""Guardian consent for visitors under 14: 개인정보 보호법 제22조의2①, 시행령 제17조의2."""

from __future__ import annotations

import time
from collections.abc import Callable
from http.cookies import SimpleCookie

import httpx2
import orjson
import pytest
from starlette.testclient import TestClient

from cookiegate.consent import narrow
from cookiegate.consent_cookie import ConsentCodec
from cookiegate.guardian import GuardianRequestError, guardian_consent, record_guardian_consent, sign_request
from tests.conftest import SECRET, accept, gate_of

Client = Callable[..., TestClient]
EVERYTHING = ["functional", "analytics", "targeting"]


def _guardian_post(
    client: TestClient, payload: dict[str, object], secret: str = SECRET, **sign: int
) -> httpx2.Response:
    body = orjson.dumps(payload)
    headers = {"content-type": "application/json", **sign_request(secret, body, **sign)}
    return client.post("/_cookiegate/guardian", content=body, headers=headers)


def test_article22_2_child_accept_all_without_guardian_grants_necessary_only(gate_client: Client) -> None:
    client = gate_client()
    record = accept(client, EVERYTHING, under14=True)
    assert record["granted"] == ["necessary"]
    assert record["guardian"] is None
    response = client.get("/echo", params={"set": ["_ga", "lang", "_fbp", "session"]})
    assert response.json()["granted"] == ["necessary"]
    assert {c.split("=", 1)[0] for c in response.headers.get_list("set-cookie")} == {"session"}


def test_article22_2_child_form_accept_all_without_guardian_grants_necessary_only(gate_client: Client) -> None:
    client = gate_client()
    client.post("/_cookiegate/consent", data={"choice": "accept_all", "under14": "1"}, follow_redirects=False)
    assert client.get("/_cookiegate/consent").json()["consent"]["granted"] == ["necessary"]


def test_article22_2_guardian_consent_over_the_signed_api_grants_what_the_guardian_chose(gate_client: Client) -> None:
    client = gate_client()
    child = accept(client, EVERYTHING, under14=True)
    response = _guardian_post(
        client, {"consent_id": child["consent_id"], "granted": ["analytics", "targeting"], "method": "sms"}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    # 맞춤형 광고 guideline: targeting stays off for a child even with the guardian's yes.
    assert answer["consent"]["granted"] == ["necessary", "analytics"]
    assert answer["consent"]["guardian"]["method"] == "sms"
    cookie = SimpleCookie(answer["set_cookie"])
    assert cookie["cookiegate"]["httponly"] and cookie["cookiegate"]["samesite"].lower() == "lax"  # as browsers read it
    client.cookies.set("cookiegate", cookie["cookiegate"].value, domain="shop.test")
    assert client.get("/echo").json()["granted"] == ["analytics", "necessary"]
    current = client.get("/_cookiegate/consent").json()
    assert current["consent"]["consent_id"] == child["consent_id"]
    assert [event["method"] for event in current["history"]] == ["api", "guardian"]
    # 시행령 제17조의2: the ledger keeps how and when the guardian was verified.
    assert current["history"][-1]["guardian"]["method"] == "sms"
    assert current["history"][-1]["guardian"]["verified_at"]


def test_article22_2_child_may_narrow_but_never_widen_the_guardian_grant(gate_client: Client) -> None:
    client = gate_client()
    child = accept(client, [], under14=True)
    answer = _guardian_post(client, {"consent_id": child["consent_id"], "granted": ["analytics"], "method": "email"})
    client.cookies.set("cookiegate", SimpleCookie(answer.json()["set_cookie"])["cookiegate"].value, domain="shop.test")
    widened = accept(client, EVERYTHING, under14=True)
    assert widened["granted"] == ["necessary", "analytics"]
    assert widened["guardian"]["method"] == "email"
    narrowed = accept(client, [], under14=True)
    assert narrowed["granted"] == ["necessary"]


@pytest.mark.parametrize(
    ("secret", "sign", "code"),
    [
        ("another-secret-key-0123456789", {}, "bad_signature"),
        (SECRET, {"timestamp": int(time.time()) - 3600}, "stale"),
    ],
)
def test_article22_2_guardian_api_refuses_calls_not_signed_by_the_site(
    gate_client: Client, secret: str, sign: dict[str, int], code: str
) -> None:
    client = gate_client()
    child = accept(client, EVERYTHING, under14=True)
    response = _guardian_post(client, {"consent_id": child["consent_id"], "granted": EVERYTHING, "method": "sms"},
                              secret, **sign)  # fmt: skip
    assert (response.status_code, response.json()["error"]) == (401, code)
    unsigned = client.post("/_cookiegate/guardian", json={"consent_id": child["consent_id"], "granted": []})
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "unsigned")
    assert client.get("/_cookiegate/consent").json()["consent"]["granted"] == ["necessary"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"consent_id": "c" * 32, "granted": ["analytics"], "method": "trust-me"}, "invalid_method"),
        ({"consent_id": "c" * 32, "granted": ["cookies"], "method": "sms"}, "unknown_category"),
        ({"consent_id": "x", "granted": [], "method": "sms"}, "invalid_consent_id"),
        ({"consent_id": "c" * 32, "granted": "all", "method": "sms"}, "invalid_granted"),
        ({"consent_id": "c" * 32, "granted": [], "method": "sms", "verified_at": 4_000_000_000}, "invalid_verified_at"),
        ([1, 2], "invalid_body"),
    ],
)
def test_statute17_2_guardian_api_rejects_bad_fields_with_422(gate_client: Client, payload: object, code: str) -> None:
    client = gate_client()
    body = orjson.dumps(payload)
    response = client.post("/_cookiegate/guardian", content=body,
                           headers={"content-type": "application/json", **sign_request(SECRET, body)})  # fmt: skip
    assert (response.status_code, response.json()["error"]) == (422, code)


def test_article22_2_guardian_api_is_post_only(gate_client: Client) -> None:
    assert gate_client().get("/_cookiegate/guardian").status_code == 405


def test_statute17_2_python_hook_records_method_and_time_in_cookie_and_ledger(gate_client: Client) -> None:
    client = gate_client()
    child = accept(client, EVERYTHING, under14=True)
    gate = gate_of(client)
    verified = int(time.time()) - 60
    value = record_guardian_consent(
        gate,
        consent_id=child["consent_id"],
        granted=["functional"],
        method="mobile-id",
        verified_at=verified,
    )
    client.cookies.set("cookiegate", SimpleCookie(value)["cookiegate"].value, domain="shop.test")
    consent = client.get("/_cookiegate/consent").json()["consent"]
    assert consent["granted"] == ["necessary", "functional"]
    assert consent["guardian"] == {"method": "mobile-id", "verified_at": verified}


def test_article22_2_narrowing_rule_needs_a_guardian_for_anything_but_necessary() -> None:
    codec = ConsentCodec([SECRET], version="v1", max_age_seconds=3600)
    by_guardian = guardian_consent(consent_id="c" * 32, granted=EVERYTHING, method="card", verified_at=1, version="v1")
    decoded = codec.decode(codec.encode(by_guardian).encode())
    assert decoded is not None and decoded.guardian_method == "card" and decoded.guardian_at == 1
    assert narrow(decoded, gpc=False, minor=True).granted == {"necessary", "functional", "analytics"}
    assert narrow(decoded, gpc=True, minor=True).granted == {"necessary", "functional", "analytics"}
    with pytest.raises(GuardianRequestError):
        guardian_consent(consent_id=None, granted=[], method="fax", verified_at=1, version="v1")  # type: ignore[arg-type]

"""The demo shop behind the gate: trackers appear only after consent."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from cookiegate.demo import create_app


def test_demo_sets_trackers_only_after_consent(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path)) as client:
        first = client.get("/", headers={"accept": "text/html"})
        assert "data-cookiegate-state" in first.text
        assert set(client.cookies.keys()) == {"session"}
        client.post("/_cookiegate/consent", json={"granted": ["analytics"], "under14": False})
        client.get("/")
        assert {"_ga", "session", "cookiegate"} <= set(client.cookies.keys())
        assert "_fbp" not in client.cookies
        assert client.get("/whoami").json()["consent"]["granted"] == ["necessary", "analytics"]


def test_demo_key_survives_restart(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path)) as client:
        client.post("/_cookiegate/consent", json={"granted": ["analytics"], "under14": False})
        token = client.cookies["cookiegate"]
    with TestClient(create_app(tmp_path)) as restarted:
        seen = restarted.get("/whoami", headers={"cookie": f"cookiegate={token}"}).json()
        assert seen["consent"]["granted"] == ["necessary", "analytics"]

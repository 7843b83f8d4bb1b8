"""``GateSettings``: keyword arguments and a settings object configure the gate alike; bad values name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cookiegate import CookieGate
from cookiegate.settings import GateSettings
from tests.conftest import SECRET, tiny_app


def test_keyword_options_and_a_settings_object_give_the_same_gate(tmp_path: Path) -> None:
    by_keywords = CookieGate(
        tiny_app(), secret_keys=[SECRET], data_dir=tmp_path, access_log=False, cookie_domains=[".shop.test"]
    )
    by_settings = CookieGate(
        tiny_app(), [SECRET], settings=GateSettings(data_dir=tmp_path, access_log=False, cookie_domains=(".shop.test",))
    )
    assert by_keywords.settings == by_settings.settings
    assert by_keywords.settings.cookie_domains == (".shop.test",)


def test_keywords_override_a_settings_object(tmp_path: Path) -> None:
    gate = CookieGate(
        tiny_app(), [SECRET], settings=GateSettings(data_dir=tmp_path, inject_banner=True), inject_banner=False
    )
    assert gate.settings.inject_banner is False and gate.settings.data_dir == tmp_path


def test_unknown_option_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"unknown option.*acces_log.*known"):
        CookieGate(tiny_app(), [SECRET], data_dir=tmp_path, acces_log=False)  # type: ignore[call-arg]


def test_bad_values_name_the_fix() -> None:
    with pytest.raises(ValueError, match="prefix must look like"):
        GateSettings(prefix="cookiegate")
    with pytest.raises(ValueError, match="at least 3 months"):
        GateSettings(retention_months=1)


def test_a_settings_object_gate_serves_requests(tmp_path: Path) -> None:
    gate = CookieGate(tiny_app(), [SECRET], settings=GateSettings(data_dir=tmp_path, access_log=False))
    with TestClient(gate) as client:
        client.cookies.update({"_fbp": "1", "session": "a"})
        assert client.get("/echo").json()["cookies"] == {"session": "a"}

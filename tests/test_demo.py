"""The demo shop behind the gate: trackers appear only after consent."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cookiegate.cli import main
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


@pytest.mark.parametrize(
    ("accept_language", "query", "locale", "heading"),
    [
        ("en-US,en;q=0.9", "", "en", "Handmade goods for every day"),
        ("ko-KR,ko;q=0.9,en;q=0.8", "", "ko", "손으로 만든 생활 소품"),
        ("", "", "ko", "손으로 만든 생활 소품"),
        ("en-US", "?lang=ko", "ko", "손으로 만든 생활 소품"),
        ("ko-KR", "?lang=en", "en", "Handmade goods for every day"),
    ],
)
def test_demo_pages_follow_accept_language_unless_the_visitor_picked(
    tmp_path: Path, accept_language: str, query: str, locale: str, heading: str
) -> None:
    with TestClient(create_app(tmp_path)) as client:
        for path in ("/", "/privacy"):
            page = client.get(path + query, headers={"accept": "text/html", "accept-language": accept_language})
            assert page.headers["content-language"] == locale
            assert "Accept-Language" in page.headers["vary"]
            assert f'<html lang="{locale}">' in page.text
        home = client.get("/" + query, headers={"accept": "text/html", "accept-language": accept_language})
        assert f"<h1>{heading}</h1>" in home.text
        assert "$" not in home.text, "every template placeholder filled"


def test_demo_help_describes_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    for words in ("address to listen on", "port to listen on", "access log, consent ledger", "Serve a small shop"):
        assert words in " ".join(text.split())
    assert "--data-dir DIR" in text


def _demo(port: int, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        # The console script a user runs (next to this interpreter in the venv).
        [str(Path(sys.executable).parent / "cookiegate"), "demo", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_demo_on_a_busy_port_says_so_and_announces_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = _demo(taken.getsockname()[1], tmp_path)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "http://" not in out
    assert "already in use" in err and "--port" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_demo_server_logs_the_peer_not_a_forged_forwarded_for(tmp_path: Path) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 by default; the demo must not let a local client
    write another address into the statutory access log."""
    process = _demo(0, tmp_path)
    try:
        assert process.stdout is not None
        announced = process.stdout.readline()
        url = re.search(r"http://\S+/", announced)
        assert url is not None, announced
        request = urllib.request.Request(
            url.group(0) + "whoami", headers={"X-Forwarded-For": "203.0.113.7", "Forwarded": "for=203.0.113.7"}
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            seen = json.loads(response.read())
        assert seen["client"] == "127.0.0.1"
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_run_refuses_a_busy_port_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cookiegate.demo import run

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit) as exit_:
            run(host="127.0.0.1", port=taken.getsockname()[1], data_dir=tmp_path)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert "already in use" in captured.err and captured.out == ""


@pytest.mark.slow
def test_article29_demo_encrypts_client_addresses_with_keys_kept_beside_its_data(tmp_path: Path) -> None:
    """개인정보 보호법 제29조: the demo stores no client address in the clear, and its keys live apart from the data."""
    data_dir = tmp_path / "data"
    process = _demo(0, data_dir)
    try:
        assert process.stdout is not None
        announced = process.stdout.readline()
        url = re.search(r"http://\S+/", announced)
        assert url is not None, announced
        assert "encrypted at rest" in process.stdout.readline()
        for page in ("", "privacy", "whoami"):
            # The site's own name in Host: on localhost it would otherwise equal the client's address.
            request = urllib.request.Request(url.group(0) + page, headers={"Host": "shop.test"})
            with urllib.request.urlopen(request, timeout=20) as response:
                response.read()
    finally:
        process.terminate()
        process.communicate(timeout=60)  # the gate's ingester stores what is spooled before it stops
    assert (tmp_path / "data-keys" / "keys.json").is_file()
    stored = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.startswith("access") for p in stored), [p.name for p in stored]
    for path in stored:
        assert b"127.0.0.1" not in path.read_bytes(), f"{path} holds the client address in plain text"

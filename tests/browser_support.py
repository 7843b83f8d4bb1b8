"""Helpers for the real-browser tests: the demo shop under real uvicorn, and Debian's chromium.

Kept out of ``tests/conftest.py`` (shared) so the browser machinery loads only where it is used.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def make_app() -> object:
    """uvicorn ``--factory`` entry: the demo shop, data in $COOKIEGATE_TEST_DATA, policy in $..._POLICY."""
    from cookiegate import Policy
    from cookiegate.demo import create_app

    policy_file = os.environ.get("COOKIEGATE_TEST_POLICY")
    policy = Policy.load(policy_file) if policy_file else Policy.default()
    return create_app(Path(os.environ["COOKIEGATE_TEST_DATA"]), policy=policy, secret_keys=["browser-test-key"])


def chromium_path() -> str:
    """The Debian chromium binary; skips the test without it, but fails on CI (CI must run these)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium not installed: run make test (installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " -- CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoServer:
    """The demo app in a real uvicorn process on 127.0.0.1; ``restart`` keeps the port (and so the cookies)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, policy_file: Path | None = None) -> None:
        env = {**os.environ, "COOKIEGATE_TEST_DATA": str(self.data_dir)}
        env.pop("COOKIEGATE_TEST_POLICY", None)
        if policy_file is not None:
            env["COOKIEGATE_TEST_POLICY"] = str(policy_file)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "tests.browser_support:make_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--no-proxy-headers",  # as `cookiegate demo`: no local client may forge its address
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise RuntimeError(f"the demo server exited:\n{error}")
            try:
                with urllib.request.urlopen(self.url + "/_cookiegate/policy", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise RuntimeError("the demo server did not answer within 20 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr:
                self._process.stderr.close()
            self._process = None

    def restart(self, policy_file: Path | None = None) -> None:
        self.stop()
        self.start(policy_file)

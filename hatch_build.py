"""The compiled wheel: the request hot path built with mypyc (off by default; the source wheel is pure Python).

``COOKIEGATE_COMPILE=1 pip wheel --no-deps .`` (or ``make wheel-compiled``) builds a platform wheel whose
``HOT_PATH`` modules are C extensions next to their ``.py`` sources; Python imports the extension first. The
same source compiles unchanged (the modules are ``mypy --strict`` clean), so the pure wheel and the editable
install behave the same, only slower: the gate's own work per request roughly halves compiled (see
benchmarks/README.md). mypyc ships with mypy, so the hook needs mypy and the runtime dependencies (their types).

The build runs on a copy of the package in a temp dir: mypyc writes its extensions in place, and the source
tree stays as it was. ``python hatch_build.py wheel DIR`` builds that wheel into DIR; ``python hatch_build.py
install DIR`` also installs it there (``pip --target``), which is how ``make test-compiled`` and the
benchmarks (benchmarks/builds.py) get the build a site would install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: Modules every request runs through: the gate, its blocked-cookie counters and the access log's request path
#: (the record and the spool append).
HOT_PATH = (
    "cookiegate/bounded.py",
    "cookiegate/consent.py",
    "cookiegate/cookies.py",
    "cookiegate/set_cookies.py",
    "cookiegate/request_facts.py",
    "cookiegate/judge.py",
    "cookiegate/verdict.py",
    "cookiegate/response.py",
    "cookiegate/conversation.py",
    "cookiegate/exchange.py",
    "cookiegate/injection.py",
    "cookiegate/banner.py",
    "cookiegate/handshake.py",
    "cookiegate/minors.py",
    "cookiegate/middleware.py",
    "cookiegate/leaks.py",
    "cookiegate/records/accesslog.py",
    "cookiegate/records/spool.py",
)

_PIP = (sys.executable, "-m", "pip", "-q", "--disable-pip-version-check")


def compiled_enabled() -> bool:
    return os.environ.get("COOKIEGATE_COMPILE", "") not in ("", "0")


class CompiledHotPathHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles ``HOT_PATH`` into the wheel when ``COOKIEGATE_COMPILE`` is set (never for editable installs)."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        return ["mypy>=1.11"] if compiled_enabled() else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable" or not compiled_enabled():
            return
        self._workdir = Path(tempfile.mkdtemp(prefix="cookiegate-mypyc-"))
        copy = self._workdir / "src"
        shutil.copytree(
            Path(self.root) / "cookiegate", copy / "cookiegate", ignore=shutil.ignore_patterns("__pycache__", "*.so")
        )
        result = subprocess.run(  # noqa: S603 - our own interpreter on our own files
            [sys.executable, "-m", "mypyc", "--strict", *HOT_PATH],
            cwd=copy,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"mypyc failed to compile the hot path:\n{result.stdout}")
        extensions = [path for path in copy.rglob("*.so") if "build" not in path.relative_to(copy).parts]
        if not extensions:
            raise RuntimeError(f"mypyc built no extension modules:\n{result.stdout}")
        for path in extensions:
            build_data["force_include"][str(path)] = str(path.relative_to(copy))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        workdir = getattr(self, "_workdir", None)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def build_wheel(wheel_dir: Path) -> None:
    """The compiled wheel of this tree into ``wheel_dir``, with this interpreter's hatchling and mypy."""
    subprocess.run(  # noqa: S603 - our own interpreter on our own tree
        [*_PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheel_dir), str(Path(__file__).parent)],
        env={**os.environ, "COOKIEGATE_COMPILE": "1"},
        check=True,
    )


def install(site: Path) -> None:
    """The compiled wheel installed into ``site`` (``pip --target``), to put first on ``sys.path``."""
    with tempfile.TemporaryDirectory(prefix="cookiegate-wheel-") as wheels:
        build_wheel(Path(wheels))
        subprocess.run(  # noqa: S603 - the wheel just built
            [*_PIP, "install", "--no-deps", "--target", str(site), *map(str, Path(wheels).glob("*.whl"))], check=True
        )


if __name__ == "__main__":
    command, folder = sys.argv[1:3]
    {"wheel": build_wheel, "install": install}[command](Path(folder))

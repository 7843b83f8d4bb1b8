"""The compiled wheel: the request hot path built with mypyc (off by default; the source wheel is pure Python).

``COOKIEGATE_COMPILE=1 pip wheel --no-deps .`` (or ``make wheel-compiled``) builds a platform wheel whose
``HOT_PATH`` modules are C extensions next to their ``.py`` sources; Python imports the extension first. The
same source compiles unchanged (the modules are ``mypy --strict`` clean), so the pure wheel and the editable
install behave the same, only slower: the gate's own work per request roughly halves compiled (see
benchmarks/README.md). mypyc ships with mypy, so the hook needs mypy and the runtime dependencies (their types).

The build runs on a copy of the package in a temp dir: mypyc writes its extensions in place, and the source
tree stays as it was. With GCC the build is profile-guided, as CPython's own release builds are: compiled once
instrumented, run on the benchmark's in-process visitor mix (``benchmarks/instructions.py``, ~10 s), compiled
again with that profile, so the branches a request takes are laid out straight and the rest moves out of the
way (over HTTP the gate's cost is cache misses more than instructions: benchmarks/README.md, Results).
``COOKIEGATE_PGO=0`` skips the profile (a quicker build, for debugging). Every build calls CPython's C API
without PLT stubs (``-fno-plt``).

``python hatch_build.py wheel DIR`` builds that wheel into DIR; ``python hatch_build.py install DIR`` also
installs it there (``pip --target``), which is how ``make test-compiled`` and the benchmarks
(benchmarks/builds.py) get the build a site would install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: Modules every request runs through: the gate, its blocked-cookie counters and the access log's request path
#: (the record and the spool append); and the consent API's change path with the ledger record it appends: a
#: banner's POST is ~1% of the benchmark's requests, yet interpreted it was ~1.8 points of the gate's CPU over
#: HTTP (its code is cold every time it runs).
HOT_PATH = (
    "cookiegate/bounded.py",
    "cookiegate/consent.py",
    "cookiegate/consent_cookie.py",
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
    "cookiegate/api/routes.py",
    "cookiegate/api/changes.py",
    "cookiegate/api/choices.py",
    "cookiegate/api/intake.py",
    "cookiegate/api/errors.py",
    "cookiegate/api/language.py",
    "cookiegate/records/ledger.py",
)

_PIP = (sys.executable, "-m", "pip", "-q", "--disable-pip-version-check")
#: Every compiled build: calls into CPython's C API through the GOT, not a PLT stub (one jump fewer each).
_CFLAGS = ("-fno-plt", "-fno-semantic-interposition")
#: The profile's training run, per variant of ``benchmarks/instructions.py``: the visitor mix, then each kind.
_TRAINING_CASES = (
    "mix::300:6000,returning:returning:100:1000,minor:minor:100:1000,bot:bot:100:500,gpc:gpc:100:500,new:new:100:1000"
)
_TRAINING_VARIANTS = ("gated", "gated_logged")


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
        if profile_guided():
            profile = self._workdir / "profile"
            _mypyc(copy, f"-fprofile-generate={profile}", "-fprofile-update=single")
            _train(Path(self.root), copy)
            _clean(copy)  # the second pass compiles every object again, at the path the profile names
            extensions = _mypyc(copy, f"-fprofile-use={profile}", "-fprofile-correction", "-Wno-missing-profile")
        else:
            extensions = _mypyc(copy)
        instrumented = [path.name for path in extensions if b"__gcov_" in path.read_bytes()]
        if instrumented:  # it would write profile files at every exit, into a folder of this build machine
            raise RuntimeError(f"profiling instrumentation left in the compiled build: {instrumented}")
        for path in extensions:
            build_data["force_include"][str(path)] = str(path.relative_to(copy))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        workdir = getattr(self, "_workdir", None)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def profile_guided() -> bool:
    """Profile the build unless ``COOKIEGATE_PGO=0``, when the C compiler is GCC (the flags are GCC's)."""
    if os.environ.get("COOKIEGATE_PGO", "1") in ("", "0"):
        return False
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    version = subprocess.run([*compiler, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return version.returncode == 0 and "Free Software Foundation" in version.stdout


def _mypyc(copy: Path, *flags: str) -> list[Path]:
    """Compile ``HOT_PATH`` in ``copy`` with ``_CFLAGS`` and ``flags`` (after any ``CFLAGS`` of the caller's);
    the extension modules built."""
    cflags = " ".join(filter(None, (os.environ.get("CFLAGS", ""), *_CFLAGS, *flags)))
    output = _run([sys.executable, "-m", "mypyc", "--strict", *HOT_PATH], copy, {"CFLAGS": cflags}, "mypyc failed")
    extensions = _extensions(copy)
    if not extensions:
        raise RuntimeError(f"mypyc built no extension modules:\n{output}")
    return extensions


def _run(command: list[str], cwd: Path, env: dict[str, str], failure: str) -> str:
    """Run one build step (our own interpreter on our own files); its output, or RuntimeError with it."""
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own files
        command,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"{failure}:\n{result.stdout}")
    return result.stdout


def _extensions(copy: Path) -> list[Path]:
    return [path for path in copy.rglob("*.so") if "build" not in path.relative_to(copy).parts]


def _train(root: Path, copy: Path) -> None:
    """Run the instrumented build on the visitor mix, gate alone and with the access log: the profile."""
    script = root / "benchmarks" / "instructions.py"
    if not script.is_file():
        raise RuntimeError(f"the profile-guided build trains on {script}, which is missing (COOKIEGATE_PGO=0 skips it)")
    # The banner's files where the copy looks for them (as in the repository): its pages get the banner.
    shutil.copytree(root / "static" / "consent-banner", copy / "static" / "consent-banner", dirs_exist_ok=True)
    env = {"PYTHONPATH": str(copy), "COOKIEGATE_EXPECT_BUILD": "compiled"}
    for variant in _TRAINING_VARIANTS:
        command = [sys.executable, str(script), "--child", variant, "--cases", _TRAINING_CASES]
        _run(command, copy.parent, env, f"the profile's training run ({variant}) failed")


def _clean(copy: Path) -> None:
    """Remove the first pass's objects and extensions: setuptools would otherwise keep them as up to date."""
    shutil.rmtree(copy / "build")
    for path in _extensions(copy):
        path.unlink()


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

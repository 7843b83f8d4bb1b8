"""Which cookiegate a benchmark measures: the compiled wheel (what ships) or the source tree as it is.

The wheel a site installs has the request hot path compiled with mypyc (``hatch_build.py``); an editable
install runs the same modules as Python source, about twice the gate's own cost. Benchmarks measure the
compiled wheel by default and say so; ``--build source`` measures the tree. Either way the benchmark's child
processes (servers, the gate's ingest process) find the chosen build first on ``PYTHONPATH`` and must run from
a directory that does not hold the source package (``python -m`` puts the working directory first).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
BUILDS: Final = ("compiled", "source")
#: Set in child processes: the build they must have imported (``check_build`` fails loudly otherwise).
EXPECT_ENV: Final = "COOKIEGATE_EXPECT_BUILD"


def prepare(build: str, workdir: Path) -> dict[str, str]:
    """Environment for child processes that import ``build`` (compiled: the wheel built and installed here)."""
    if build == "source":
        return {"PYTHONPATH": str(ROOT), EXPECT_ENV: "source"}
    if build != "compiled":
        raise ValueError(f"unknown build {build!r}: one of {BUILDS}")
    site = workdir / "site"
    print("building the compiled wheel (mypyc, ~1 minute) ...", flush=True)
    subprocess.run([sys.executable, str(ROOT / "hatch_build.py"), "install", str(site)], check=True)
    return {"PYTHONPATH": str(site), EXPECT_ENV: "compiled"}


def loaded_build() -> str:
    """``compiled`` when the imported gate is the mypyc build, else ``source``."""
    import cookiegate.verdict

    return "source" if cookiegate.verdict.__file__.endswith(".py") else "compiled"


def check_build() -> None:
    """Fail when a child process imported another build than the benchmark asked for."""
    expected = os.environ.get(EXPECT_ENV)
    if expected and loaded_build() != expected:
        import cookiegate

        raise SystemExit(f"expected the {expected} build of cookiegate, imported {cookiegate.__file__}")

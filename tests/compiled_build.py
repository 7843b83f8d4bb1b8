"""A pytest plugin that makes the test run import the compiled wheel (``make test-compiled``).

``pytest -p tests.compiled_build`` with ``COOKIEGATE_BUILD_SITE`` naming a folder the compiled wheel was
installed into (``pip install --target``): that folder goes first on ``sys.path`` before any test imports
cookiegate, and the run stops at once if the gate's modules still come from source. Processes the tests start
(the ingester, servers) get it on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import sys

import pytest

SITE_ENV = "COOKIEGATE_BUILD_SITE"


def _put_compiled_build_first() -> None:
    """Runs when pytest imports this plugin (``-p``), before it loads any conftest or test module."""
    site = os.environ.get(SITE_ENV)
    if not site:
        raise pytest.UsageError(f"-p tests.compiled_build needs {SITE_ENV}: where the compiled wheel is installed")
    if "cookiegate" in sys.modules:
        raise pytest.UsageError("cookiegate was imported before the compiled build could be put first")
    sys.path.insert(0, site)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (site, os.environ.get("PYTHONPATH"))))
    import cookiegate.verdict

    if cookiegate.verdict.__file__ is None or cookiegate.verdict.__file__.endswith(".py"):
        raise pytest.UsageError(f"the compiled build was asked for, but {cookiegate.verdict.__file__} is source")


_put_compiled_build_first()


def pytest_report_header() -> str:
    import cookiegate.verdict

    return f"cookiegate: compiled build ({cookiegate.verdict.__file__})"

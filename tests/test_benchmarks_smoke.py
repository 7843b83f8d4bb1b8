"""The benchmarks still run and still produce figures (nothing here times anything or asserts a speed)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
VARIANTS = ("bare", "gated", "gated_logged", "uvicorn_access_log")


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"cookiegate_benchmarks_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_microbench_gives_a_figure_for_every_case_and_variant() -> None:
    microbench = load("microbench")

    results = asyncio.run(microbench.measure(iterations=200, repeats=2))

    assert set(results) - {"_background"} == {
        "consented",
        "consented_new_header",
        "new_visitor",
        "minor_marketing",
        "gpc",
        "bot",
        "consent_post",
    }
    for case, figures in results.items():
        if case == "_background":
            continue
        for variant in ("bare", "gated", "gated_logged"):
            assert figures[variant] > 0
        assert "gate_us" in figures and "logged_gate_us" in figures


def test_microbench_requests_reach_the_shop_as_a_browser_would_see_them() -> None:
    microbench = load("microbench")
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def call() -> None:
        app = microbench.variants(Path("unused"))["bare"]()
        await app(dict(microbench.cases()["consented"]), microbench._receive, send)

    asyncio.run(call())

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200


def test_app_factories_build_every_variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOKIEGATE_BENCH_DATA_DIR", str(tmp_path))
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # as uvicorn's --app-dir does: app.py imports builds.py
    app = load("app")

    assert set(app.VARIANTS) == set(VARIANTS)
    assert set(app.DIAGNOSTIC_VARIANTS) == set(load("run").DIAGNOSTIC_VARIANTS)
    for factory in [*app.VARIANTS.values(), *app.DIAGNOSTIC_VARIANTS.values()]:
        assert callable(factory())


def test_floor_filters_set_cookie_and_adds_vary() -> None:
    floor = load("floor")
    scopes: list[dict[str, Any]] = []

    async def shop(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)
        headers = [(b"set-cookie", b"_fbp=fb.1.2; Path=/"), (b"set-cookie", b"session=abc; HttpOnly")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "path": "/", "headers": [(b"cookie", b"_fbp=1; session=abc")]}
    asyncio.run(floor.CookieFloor(shop)(scope, receive, send))

    assert sent[0]["headers"] == [(b"set-cookie", b"session=abc; HttpOnly"), (b"vary", b"Cookie")]
    assert sent[1]["body"] == b"ok"
    assert scopes[0][floor.SCOPE_KEY] == b"_fbp=1; session=abc"


@pytest.mark.parametrize(("variants", "said"), [("bare,gated,nonesuch", "no such variant: nonesuch"),
                                                ("gated,floor", "must include bare")])  # fmt: skip
def test_run_refuses_unknown_variants_before_starting_anything(
    variants: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        load("run").main(["--variants", variants, "--out", "/nonexistent/never-created"])

    assert exit_info.value.code == 2
    assert said in capsys.readouterr().err
    assert not Path("/nonexistent/never-created").exists()


@pytest.mark.slow
def test_quick_run_writes_the_contract_summary(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--build", "source", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["variants"]) == set(VARIANTS)
    for figures in summary["variants"].values():
        for key in ("cpu_us_per_request", "rps", "p50_ms", "p99_ms"):
            assert isinstance(figures[key], int | float) and figures[key] > 0, (key, figures)
    assert (tmp_path / "results.csv").exists()
    assert (tmp_path / "benchmark.png").stat().st_size > 0


def test_memory_driver_samples_rss_and_every_cache_within_its_bound(tmp_path: Path) -> None:
    out = tmp_path / "memory.json"
    options = ["--requests", "600", "--every", "300", "--warmup", "300", "--tokens", "20", "--json", str(out)]
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "memory.py"), *options],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "statuses {200: 600}" in completed.stdout  # the soak's mix, the consent POST included, all served

    rows = json.loads(out.read_text())
    assert [row["requests"] for row in rows] == [300, 600]
    for row in rows:
        assert row["rss"] > 0 and row["pymalloc"]["arenas"] > 0 and row["pymalloc"]["live"] > 0
        for name, cache in row["caches"].items():
            assert cache["len"] <= cache["bound"], name
    assert rows[-1]["caches"]["verdicts"]["len"] > 0 and rows[-1]["caches"]["consent_tokens"]["len"] > 0


def test_a_benchmark_child_refuses_a_build_it_was_not_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    builds = load("builds")
    loaded = builds.loaded_build()
    assert loaded == ("source" if str(sys.modules["cookiegate.verdict"].__file__).endswith(".py") else "compiled")
    monkeypatch.setenv(builds.EXPECT_ENV, "compiled" if loaded == "source" else "source")
    with pytest.raises(SystemExit, match="expected the"):
        builds.check_build()
    monkeypatch.setenv(builds.EXPECT_ENV, loaded)
    builds.check_build()


def test_callgrind_totals_and_calls_into_one_function_are_read_through_name_compression() -> None:
    instructions = load("instructions")
    dumped = "\n".join(
        [
            "events: Ir",
            "fn=(1) _PyType_Lookup",
            "cfn=(2) find_name_in_mro",
            "calls=3 0x10",
            "5 40",
            "cfn=(3) other",
            "calls=7 0x20",
            "fn=(4) PyObject_GenericGetAttr",
            "cfn=(2)",
            "calls=4 0x10",
            "fn=(2)",
            "cfn=(1)",
            "calls=9 0x30",
            "totals: 12345",
        ]
    )

    assert instructions.read_callgrind(dumped, "find_name_in_mro") == (12345, 7)
    assert instructions.read_callgrind(dumped, "_PyType_Lookup") == (12345, 9)


def test_a_smoke_run_writes_to_a_temp_dir_and_only_a_full_run_replaces_the_published_figures() -> None:
    run = load("run")
    published = BENCHMARKS / "results"
    first, second = run.default_out(quick=True), run.default_out(quick=True)
    try:
        assert first.is_dir() and not first.resolve().is_relative_to(BENCHMARKS.resolve())
        assert second != first  # every smoke run gets its own
    finally:
        first.rmdir()
        second.rmdir()
    assert run.default_out(quick=False) == published


def test_stall_costs_stay_with_the_function_that_spent_them_and_the_growth_is_ranked() -> None:
    stalls, callgrind = load("stalls"), load("callgrind")
    dumped = [
        "events: Ir I1mr D1mr D1mw ILmr DLmr DLmw Bcm Bim",
        "summary: 1000 40 0 0 0 0 0 6 0",
        "",
        "fn=(1) gate'2",
        "10 100 9",
        "cfn=(2) helper",
        "calls=1 20",
        "11 500 20 0 0 0 0 0 5",
        "+1 50 1",
        "fn=(2)",
        "20 500 20 0 0 0 0 0 5",
        "fn=(1)",
        "12 50 10 0 0 0 0 0 1",
    ]
    before = [
        "events: Ir I1mr D1mr D1mw ILmr DLmr DLmw Bcm Bim",
        "summary: 600 10 0 0 0 0 0 1 0",
        "fn=(1) gate",
        "10 100 1",
        "fn=(2) helper",
        "20 500 9 0 0 0 0 0 1",
    ]
    after = callgrind.read_costs(dumped)

    assert after.totals["Ir"] == 1000
    # The call's inclusive cost (500) belongs to the callee, not to the caller; recursion folds into one name.
    assert after.functions["gate"][:2] == [200, 20]
    assert after.functions["helper"][:2] == [500, 20]
    assert stalls.per_request(after, 10)["I1mr"] == 4.0
    grown = stalls.ranked(callgrind.read_costs(before), 1, after, 1, top=2)
    assert [name for name, _ in grown] == ["gate", "helper"]
    assert grown[0][1]["I1mr"] == 19 and grown[0][1]["Bcm"] == 1
    assert grown[1][1]["I1mr"] == 11 and grown[1][1]["Bcm"] == 4


_BURNER = """
import subprocess, sys, threading, time

def burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass

if sys.argv[1] == "parent":
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2], "child", sys.argv[2]])
    worker = threading.Thread(target=burn, args=(0.3,))
    worker.start()
    worker.join()
    print("ready", flush=True)
    time.sleep(60)
else:
    burn(0.3)
    time.sleep(60)
"""


def test_server_cpu_counts_a_finished_thread_and_the_live_child_process() -> None:
    run = load("run")
    parent = subprocess.Popen([sys.executable, "-c", _BURNER, "parent", _BURNER], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while run.cpu_seconds(parent.pid) < 0.6 and time.monotonic() < deadline:
            time.sleep(0.05)  # the child may still be burning its share
        spent = run.cpu_seconds(parent.pid)
    finally:
        for child in Path(f"/proc/{parent.pid}/task").glob("*/children"):
            for pid in child.read_text().split():
                os.kill(int(pid), signal.SIGKILL)
        parent.kill()
        parent.wait()
        assert parent.stdout is not None
        parent.stdout.close()

    # 0.3 s in a thread of the parent and 0.3 s in its child, plus two interpreters' start-up.
    assert 0.6 <= spent < 2.0, spent


def _phase_figures(cpu_us: float, p99_ms: float, paired_bare: float | None = None) -> dict[str, object]:
    figures: dict[str, object] = {
        "cpu_us_per_request": cpu_us,
        "rps": 1000.0,
        "p50_ms": 1.0,
        "p99_ms": p99_ms,
        "target_rate": 1000.0,
    }
    if paired_bare is not None:
        figures["paired_bare_cpu_us_per_request"] = paired_bare
    return figures


def test_a_paired_max_rate_ratio_is_to_the_bare_measured_beside_the_variant() -> None:
    run = load("run")
    results = {
        "bare": {"fixed_rate": _phase_figures(200.0, 5.0), "max_rate": _phase_figures(150.0, 30.0)},
        # Measured beside a bare that ran at 180 µs in the same windows (the machine was slower then).
        "gated": {"fixed_rate": _phase_figures(220.0, 5.2), "max_rate": _phase_figures(190.0, 31.0, 180.0)},
        "gated_logged": {"fixed_rate": _phase_figures(230.0, 6.0), "max_rate": _phase_figures(210.0, 33.0, 190.0)},
    }

    summary = run.summarise(results, {})

    gated, logged = summary["variants"]["gated"], summary["variants"]["gated_logged"]
    assert gated["max_rate_cpu_ratio_to_bare"] == round(190 / 180, 3)  # not 190 / 150
    assert logged["max_rate_cpu_ratio_to_bare"] == round(210 / 190, 3)
    assert logged["p99_ratio_to_gated"] == round(6.0 / 5.2, 3)
    assert summary["targets"] == {"gated_max_rate_cpu_le_1.08x_bare": True, "gated_logged_p99_le_1.10x_gated": False}


def test_each_paired_round_keeps_its_own_ratio_to_the_bare_beside_it() -> None:
    run = load("run")
    gated = [{"cpu": 0.220, "requests": 1000}, {"cpu": 0.300, "requests": 1500}, {"cpu": 0.1, "requests": 0}]
    beside = [{"cpu": 0.200, "requests": 1000}, {"cpu": 0.250, "requests": 1400}, {"cpu": 0.2, "requests": 900}]
    assert run.paired_ratios(gated, beside) == [1.1, round((0.300 / 1500) / (0.250 / 1400), 3), None]

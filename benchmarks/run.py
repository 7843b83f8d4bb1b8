"""One command that load-tests the sample shop four ways and writes the table, CSVs, summary.json and a plot.

    .venv/bin/python benchmarks/run.py            # full run, ~5 minutes
    .venv/bin/python benchmarks/run.py --quick    # smoke test, < 1 minute (fixed rate only, short windows; temp dir)
    .venv/bin/python benchmarks/run.py --soak 600 # RSS of the gated+logged server over 10 minutes

Each variant is a real uvicorn process (one worker) pinned to CPU 0 with ``taskset -c 0``; Locust (headless,
FastHttpUser) runs pinned to CPU 1. Per variant: a fixed-rate phase (the same total request rate for all; the
latency targets are defined on it) and a max-rate phase (users with no wait), where each variant is driven at
the same time as bare, both servers on CPU 0 and one Locust each on CPU 1, and its CPU ratio is to that bare:
this machine's speed moves by a third within seconds, and only a bare measured in the same window moves with it.
Each max-rate round starts its two servers afresh: a run then averages as many starts as rounds.

Server CPU per request = (utime + stime of the server process, all threads, and of its ingest process, from
``/proc/<pid>/stat``) over the measuring window / requests the server finished in that window (read from the
app's request counter, see ``app.py``). The window starts after a warm-up, once Locust's users are all running.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from builds import BUILDS, prepare  # noqa: E402

VARIANTS = ("bare", "gated", "gated_logged", "uvicorn_access_log")
#: Served only when named in ``--variants``: the least a cookie filter costs, and the gate without its banner.
DIAGNOSTIC_VARIANTS = ("floor", "gated_no_banner")
#: Server CPU per request over bare that the plot marks with a dash above each variant's bars.
PLOTTED_TARGETS = {"gated": 1.08, "gated_logged": 1.10}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Phase:
    name: str  # "fixed_rate" | "max_rate" | "soak"
    rate: float  # total requests/s; 0 = as fast as Locust can
    users: int
    warmup: float
    measure: float
    rounds: int = 1
    #: Each variant driven at the same time as bare, both on CPU 0, and compared with that bare (see README).
    paired: bool = False
    #: Both servers of each round started afresh for it: one start's memory layout and hash seed move its CPU a
    #: request by about ±1%, so a run on one start per server measured the luck of that start.
    fresh_servers: bool = False


# ----------------------------------------------------------------------------------------------- processes


def pinning(core: int) -> list[str]:
    """``taskset -c N`` when there is more than one core to pin to (else nothing: pinning both to 0 is worse)."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core)]
    return []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU of the server and its child processes: the gate's ingest process is part of the log's cost.

    utime + stime of every thread, plus cutime + cstime (children that exited and were waited for), plus
    the live descendants (``/proc/<pid>/task/*/children``), read the same way. The kernel scales utime + stime
    to the scheduler's exact run time (only their split is sampled), so the sum is exact to a tick (10 ms).
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except FileNotFoundError:
        return 0.0  # exited between listing and reading: its time is in its parent's cutime now
    total = sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            total += sum(cpu_seconds(int(child)) for child in children.read_text().split())
        except FileNotFoundError:
            continue
    return total


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE


def served(base_url: str) -> int:
    with urllib.request.urlopen(base_url + "/__bench/count", timeout=5) as response:
        return int(response.read())


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def await_serving(name: str, url: str, process: subprocess.Popen[bytes], log_file: Path, timeout: float) -> None:
    """Return once the server at ``url`` answers its request counter; raise with its log if it exits or is late."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            served(url)
            return
        except OSError as error:
            if process.poll() is not None or time.monotonic() > deadline:
                log = log_file.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name}: server did not start:\n{log}") from error
            time.sleep(0.05)


def uvicorn_command(variant: str, port: int) -> list[str]:
    """``python -m uvicorn`` serving ``variant`` of ``app.py`` on ``port`` of localhost (one worker)."""
    access_log = variant == "uvicorn_access_log"
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"app:{variant}",
        "--factory",
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        # uvicorn's access lines are INFO: at --log-level warning they would be filtered, not written.
        *(["--access-log", "--log-level", "info"] if access_log else ["--no-access-log", "--log-level", "warning"]),
    ]


class Server:
    """One uvicorn process serving a variant from ``app.py``, pinned to CPU 0."""

    def __init__(self, variant: str, workdir: Path, env: dict[str, str]) -> None:
        self.variant = variant
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / f"data-{variant}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file = workdir / f"{variant}.server.log"
        command = [*pinning(0), *uvicorn_command(variant, self.port)]
        self.env = {**env, "COOKIEGATE_BENCH_DATA_DIR": str(self.data_dir)}
        self._log = self.log_file.open("ab")  # "a": a server started again for a round keeps the earlier lines
        # From the workdir: ``python -m`` puts the working directory first, and the chosen build must win.
        self.process = subprocess.Popen(command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir)
        self.pid = self.process.pid
        try:
            await_serving(variant, self.url, self.process, self.log_file, timeout=30)
        except RuntimeError:
            self._log.close()
            raise

    def stop(self) -> None:
        """SIGINT, as Ctrl-C: uvicorn runs the lifespan shutdown, so the access log writer drains."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_lines(self) -> int:
        with self.log_file.open("rb") as f:
            return sum(1 for _ in f)


def sqlite_rows(folder: Path) -> int:
    """Rows in every table of every SQLite file under ``folder`` (proof the access log wrote something)."""
    total = 0
    for path in folder.rglob("*"):
        if not path.is_file() or path.suffix in (".wal", ".shm") or path.name.endswith(("-wal", "-shm")):
            continue
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                continue
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                if not table.startswith("sqlite_"):
                    total += connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        except sqlite3.DatabaseError:
            pass
        finally:
            connection.close()
    return total


# ----------------------------------------------------------------------------------------------- measuring


def make_tokens(key: str, count: int) -> dict[str, list[str]]:
    """Valid consent cookies for the visitors, made with the server's key (no POSTs needed before a run)."""
    from cookiegate import Policy
    from cookiegate.consent import new_consent
    from cookiegate.consent_cookie import ConsentCodec

    policy = Policy.default()
    codec = ConsentCodec([key], version=policy.version, max_age_seconds=policy.consent_max_age_days * 86_400)
    kinds = {
        "all": (("functional", "analytics", "targeting"), False),
        "reject": ((), False),
        "minor": (("functional", "analytics"), True),
    }
    return {
        kind: [codec.encode(new_consent(granted, version=policy.version, under14=under14)) for _ in range(count)]
        for kind, (granted, under14) in kinds.items()
    }


def run_round(
    servers: list[Server],
    phase: Phase,
    round_no: int,
    workdir: Path,
    csv_dir: Path,
    env: dict[str, str],
    on_sample: Any = None,
    sample_every: float = 0.0,
) -> list[dict[str, Any]]:
    """Drive each of ``servers`` with its own Locust process at once, measure them in one window; raw figures.

    One server is the plain case. Several (a paired phase) share CPU 0 and the window: a change in the
    machine's speed during the window (another tenant of the host, a burst elsewhere) hits all of them alike.
    ``on_sample`` gets the first server's RSS every ``sample_every`` seconds (the soak).
    """
    tags = [f"{server.variant}_{phase.name}" + (f"_r{round_no}" if phase.rounds > 1 else "") for server in servers]
    if phase.paired:
        tags = [
            f"{tag}_with_{'_'.join(s.variant for s in servers if s is not server)}"
            for tag, server in zip(tags, servers, strict=True)
        ]
    run_time = math.ceil(phase.warmup + phase.measure + 1.5)
    locusts: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for server, tag in zip(servers, tags, strict=True):
            locusts.append(_start_locust(server, phase, tag, run_time, workdir, env))
        for server, (locust, log) in zip(servers, locusts, strict=True):
            _await_first_request(server, locust, log)
        time.sleep(phase.warmup)
        before = [(served(s.url), cpu_seconds(s.pid)) for s in servers]
        t0 = time.monotonic()
        end = t0 + phase.measure
        while (now := time.monotonic()) < end:
            time.sleep(min(sample_every or phase.measure, end - now))
            if on_sample is not None:
                on_sample(time.monotonic() - t0, rss_bytes(servers[0].pid))
        after = [(served(s.url), cpu_seconds(s.pid)) for s in servers]
        t1 = time.monotonic()
        for locust, _ in locusts:
            locust.wait(timeout=run_time + 60)
    finally:
        for locust, _ in locusts:
            if locust.poll() is None:
                locust.kill()
                locust.wait()
    measured = []
    for server, tag, (count0, cpu0), (count1, cpu1) in zip(servers, tags, before, after, strict=True):
        if (workdir / f"{tag}_stats.csv").exists():  # Locust's own per-request-name table, kept beside ours
            (csv_dir / "locust").mkdir(exist_ok=True)
            shutil.copy(workdir / f"{tag}_stats.csv", csv_dir / "locust" / f"{tag}_stats.csv")
        latency_file = workdir / f"{tag}.latency"
        if not latency_file.exists():
            raise RuntimeError(f"locust wrote no latencies:\n{(workdir / f'{tag}.locust.log').read_text()[-3000:]}")
        latencies = array("d")
        latencies.frombytes(latency_file.read_bytes())
        counts = json.loads(Path(str(latency_file) + ".json").read_text())
        measured.append(
            {
                "requests": count1 - count0,
                "cpu": cpu1 - cpu0,
                "wall": t1 - t0,
                "latencies": latencies,
                "failures": counts["failures"],
                "rss": rss_bytes(server.pid),
            }
        )
    return measured


def locust_command(url: str, users: int, run_time: int) -> list[str]:
    """A headless, quiet Locust of ``locustfile.py`` with ``users`` users against ``url`` for ``run_time`` s."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "--run-time",
        f"{run_time}s",
        "--host",
        url,
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]


def _start_locust(
    server: Server, phase: Phase, tag: str, run_time: int, workdir: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], Path]:
    """One headless Locust on CPU 1 driving ``server`` for ``run_time`` seconds; its process and its log."""
    locust_env = {
        **env,
        "COOKIEGATE_BENCH_RATE": str(phase.rate),
        "COOKIEGATE_BENCH_USERS": str(phase.users),
        "COOKIEGATE_BENCH_VARIANT": server.variant,
        "COOKIEGATE_BENCH_WARMUP": str(phase.warmup),
        "COOKIEGATE_BENCH_LATENCY_OUT": str(workdir / f"{tag}.latency"),
    }
    command = [
        *pinning(1),
        *locust_command(server.url, phase.users, run_time),
        "--csv",
        str(workdir / tag),
        "--reset-stats",
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "2",
    ]
    log = workdir / f"{tag}.locust.log"
    with log.open("wb") as out:
        return subprocess.Popen(command, env=locust_env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT), log


def _await_first_request(server: Server, locust: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until ``server`` finishes a request after this is called: its Locust is sending."""
    before = served(server.url)
    deadline = time.monotonic() + 30
    while served(server.url) == before:
        if locust.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"locust sent nothing:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)


def combine(phase: Phase, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One phase's figures from its rounds: CPU and requests summed, latencies merged before percentiles."""
    requests = sum(r["requests"] for r in rounds)
    cpu = sum(r["cpu"] for r in rounds)
    wall = sum(r["wall"] for r in rounds)
    ordered: list[float] = sorted(x for r in rounds for x in r["latencies"])
    if not ordered or not requests:
        raise RuntimeError(f"{phase.name}: no requests measured")

    def percentile(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)

    cpu_us = cpu / requests * 1e6
    return {
        "cpu_us_per_request": round(cpu_us, 1),
        "rps": round(requests / wall, 1),
        "p50_ms": percentile(50),
        "p99_ms": percentile(99),
        "p90_ms": percentile(90),
        "p999_ms": percentile(99.9),
        "mean_ms": round(sum(ordered) / len(ordered), 3),
        "failures": sum(r["failures"] for r in rounds),
        "client_requests": len(ordered),
        "server_requests": requests,
        "server_cpu_seconds": round(cpu, 3),
        "server_cpu_util": round(cpu / wall, 3),
        "capacity_rps": round(1e6 / cpu_us),
        "window_seconds": round(wall, 2),
        # The spread of CPU/request over rounds: how much the machine's other load moved the figure.
        "cpu_us_per_request_by_round": [
            round(r["cpu"] / r["requests"] * 1e6, 1) if r["requests"] else None for r in rounds
        ],
        "target_rate": phase.rate or None,
        "users": phase.users,
        "rss_mb": round(rounds[-1]["rss"] / 2**20, 1),
    }


def paired_ratios(rounds: list[dict[str, Any]], beside: list[dict[str, Any]]) -> list[float | None]:
    """Each round's CPU per request over that of the bare server measured beside it: the spread of the paired
    ratio itself, which the summed figure hides (None for a round where either server finished nothing)."""
    ratios: list[float | None] = []
    for mine, bare in zip(rounds, beside, strict=True):
        usable = mine["requests"] and bare["requests"] and bare["cpu"]
        ratios.append(round(mine["cpu"] / mine["requests"] / (bare["cpu"] / bare["requests"]), 3) if usable else None)
    return ratios


def measure_all(
    variants: list[str], phases: list[Phase], workdir: Path, csv_dir: Path, env: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """All variants' servers up at once (idle ones cost nothing), rounds interleaved across variants.

    Interleaving (and rotating the order each round) spreads any change in the machine's other load over
    all variants instead of charging it to whichever happened to run then. A paired phase goes further: each
    variant runs at the same time as bare, and its ratio is to the bare of the same windows
    (``paired_bare_cpu_us_per_request``).
    """
    servers: dict[str, Server] = {}
    results: dict[str, dict[str, Any]] = {variant: {} for variant in variants}
    try:
        for variant in variants:
            servers[variant] = Server(variant, workdir, env)
        for phase in phases:
            rounds: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
            beside: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
            for round_no in range(phase.rounds):
                order = variants[round_no % len(variants) :] + variants[: round_no % len(variants)]
                for variant in order:
                    if phase.paired and variant == "bare":
                        continue  # measured beside each of the others
                    names = ["bare", variant] if phase.paired else [variant]
                    if phase.fresh_servers:
                        for name in names:
                            servers[name].stop()
                            servers[name] = Server(name, workdir, env)
                    group = [servers[name] for name in names]
                    measured = run_round(group, phase, round_no, workdir, csv_dir, env)
                    rounds[variant].append(measured[-1])
                    if phase.paired:
                        rounds["bare"].append(measured[0])
                        beside[variant].append(measured[0])
                    print(
                        f"  {phase.name:<10} round {round_no + 1}/{phase.rounds}  {variant:<19} {_line(measured[-1])}"
                        + (
                            f"  (bare beside it: {measured[0]['cpu'] / measured[0]['requests'] * 1e6:.1f} µs/req)"
                            if phase.paired
                            else ""
                        ),
                        flush=True,
                    )
            for variant in variants:
                results[variant][phase.name] = combine(phase, rounds[variant])
                if beside[variant]:
                    figures = results[variant][phase.name]
                    figures["paired_bare_cpu_us_per_request"] = combine(phase, beside[variant])["cpu_us_per_request"]
                    figures["paired_ratio_by_round"] = paired_ratios(rounds[variant], beside[variant])
    finally:
        for server in servers.values():
            server.stop()
    if "gated_logged" in servers:
        results["gated_logged"]["access_log_rows"] = sqlite_rows(servers["gated_logged"].data_dir)
    if "uvicorn_access_log" in servers:
        results["uvicorn_access_log"]["access_log_lines"] = servers["uvicorn_access_log"].log_lines()
    return results


def _line(r: dict[str, Any]) -> str:
    ordered = sorted(r["latencies"]) or [0.0]
    cpu_us = r["cpu"] / r["requests"] * 1e6 if r["requests"] else 0.0
    return (
        f"{r['requests'] / r['wall']:7.0f} rps  cpu {cpu_us:6.1f} µs/req  "
        f"p50 {ordered[len(ordered) // 2]:7.2f} ms  p99 {ordered[int(len(ordered) * 0.99)]:7.2f} ms  "
        f"fail {r['failures']}"
    )


# ----------------------------------------------------------------------------------------------- reporting


def summarise(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """The contract shape: four top-level keys per variant, taken from the fixed-rate phase."""
    base_fixed = results["bare"]["fixed_rate"]
    variants: dict[str, Any] = {}
    for variant, phases in results.items():
        fixed = phases["fixed_rate"]
        entry: dict[str, Any] = {key: fixed[key] for key in ("cpu_us_per_request", "rps", "p50_ms", "p99_ms")}
        entry["cpu_ratio_to_bare"] = _ratio(fixed["cpu_us_per_request"], base_fixed["cpu_us_per_request"])
        entry["p50_ratio_to_bare"] = _ratio(fixed["p50_ms"], base_fixed["p50_ms"])
        entry["p99_ratio_to_bare"] = _ratio(fixed["p99_ms"], base_fixed["p99_ms"])
        if "max_rate" in phases:
            entry["max_rps"] = phases["max_rate"]["rps"]
            entry["max_rps_ratio_to_bare"] = _ratio(phases["max_rate"]["rps"], results["bare"]["max_rate"]["rps"])
            entry["max_rate_cpu_us_per_request"] = phases["max_rate"]["cpu_us_per_request"]
            entry["max_rate_cpu_ratio_to_bare"] = _ratio(
                phases["max_rate"]["cpu_us_per_request"], _bare_beside(phases["max_rate"], results["bare"]["max_rate"])
            )
        entry.update({k: v for k, v in phases.items() if k not in ("fixed_rate", "max_rate")})
        entry["fixed_rate"] = fixed
        if "max_rate" in phases:
            entry["max_rate"] = phases["max_rate"]
        variants[variant] = entry
    gated = variants.get("gated", {})
    logged = variants.get("gated_logged", {})
    p99_to_gated = None
    if logged and gated:
        p99_to_gated = logged["p99_ratio_to_gated"] = _ratio(logged["p99_ms"], gated["p99_ms"])
    # The targets of the open issues: the gate's server CPU at max rate (#11), the log's p99 at 1000 req/s (#8).
    targets = {
        "gated_max_rate_cpu_le_1.08x_bare": gated.get("max_rate_cpu_ratio_to_bare", 99) <= 1.08,
        "gated_logged_p99_le_1.10x_gated": (p99_to_gated or 99) <= 1.10,
    }
    # Below the asked rate, Locust (or a busy machine) was the limit and the variants are not comparable.
    short = [
        name
        for name, phases in results.items()
        if phases["fixed_rate"]["rps"] < 0.95 * (phases["fixed_rate"]["target_rate"] or 0)
    ]
    meta["fixed_rate_reached"] = not short
    if short:
        meta["warning"] = f"fixed rate not reached by {', '.join(short)}: machine busy? compare with care"
    return {"variants": variants, "top_level_phase": "fixed_rate", "targets": targets, "meta": meta}


def _bare_beside(phase: dict[str, Any], bare: dict[str, Any]) -> float:
    """The bare CPU per request a variant's phase compares with: the bare measured beside it when paired."""
    return float(phase.get("paired_bare_cpu_us_per_request") or bare["cpu_us_per_request"])


def _ratio(value: float, base: float) -> float | None:
    return round(value / base, 3) if base else None


def write_csv(summary: dict[str, Any], path: Path) -> None:
    columns = [
        "variant",
        "phase",
        "rps",
        "cpu_us_per_request",
        "cpu_ratio_to_bare",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "p999_ms",
        "mean_ms",
        "server_cpu_util",
        "capacity_rps",
        "failures",
        "server_requests",
        "window_seconds",
        "target_rate",
        "users",
    ]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        bare = summary["variants"]["bare"]
        for variant, entry in summary["variants"].items():
            for phase in ("fixed_rate", "max_rate"):
                if phase in entry:
                    row = {"variant": variant, "phase": phase, **entry[phase]}
                    row["cpu_ratio_to_bare"] = _ratio(
                        entry[phase]["cpu_us_per_request"], _bare_beside(entry[phase], bare[phase])
                    )
                    writer.writerow(row)


def table(summary: dict[str, Any]) -> str:
    """A Markdown table of the fixed-rate figures (and max-rate rps when measured)."""
    variants = summary["variants"]
    has_max = all("max_rate" in v for v in variants.values())
    head = "| variant | CPU µs/req | × bare | p50 ms | p99 ms | p99 × bare | rps |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    if has_max:
        head += " max-rate CPU µs/req | × bare | max rps | server CPU busy at max |"
        rule += "---:|---:|---:|---:|"
    lines = [head, rule]
    for name, v in variants.items():
        line = (
            f"| {name} | {v['cpu_us_per_request']:.1f} | {v['cpu_ratio_to_bare']:.3f} | {v['p50_ms']:.2f} | "
            f"{v['p99_ms']:.2f} | {v['p99_ratio_to_bare']:.3f} | {v['rps']:.0f} |"
        )
        if has_max:
            line += (
                f" {v['max_rate_cpu_us_per_request']:.1f} | {v['max_rate_cpu_ratio_to_bare']:.3f} |"
                f" {v['max_rps']:.0f} | {v['max_rate']['server_cpu_util'] * 100:.0f}% |"
            )
        lines.append(line)
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = summary["variants"]
    names = list(variants)
    colors = ["#7f8c8d", "#2e86de", "#10ac84", "#ee5253"]
    fig, (ax_lat, ax_cpu) = plt.subplots(1, 2, figsize=(13, 5))
    percentiles = [("p50", "p50_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"), ("p99.9", "p999_ms")]
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        fixed = variants[name]["fixed_rate"]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(percentiles))]
        ax_lat.bar(xs, [fixed[key] for _, key in percentiles], width, label=name, color=colors[i % len(colors)])
    ax_lat.set_xticks(range(len(percentiles)), [label for label, _ in percentiles])
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("latency (ms, client side, log scale)")
    rate = variants["bare"]["fixed_rate"]["target_rate"]
    ax_lat.set_title(f"Latency percentiles at a fixed {rate:.0f} req/s")
    ax_lat.legend()
    ax_lat.grid(axis="y", alpha=0.3)

    phases = [p for p in ("fixed_rate", "max_rate") if all(p in variants[n] for n in names)]
    width = 0.8 / len(phases)
    top = 0.0
    for k, phase in enumerate(phases):
        cpu = [variants[n][phase]["cpu_us_per_request"] for n in names]
        base = variants["bare"][phase]["cpu_us_per_request"]
        xs = [i + (k - (len(phases) - 1) / 2) * width for i in range(len(names))]
        label = "at the fixed rate" if phase == "fixed_rate" else "at max rate (Locust-bound)"
        bars = ax_cpu.bar(
            xs,
            cpu,
            width,
            color=colors[: len(names)],
            alpha=1.0 if k == 0 else 0.55,
            hatch=None if k == 0 else "//",
            edgecolor="white",
            label=label,
        )
        for bar, value in zip(bars, cpu, strict=True):
            ax_cpu.annotate(
                f"{value:.0f}\n{value / base:.2f}×",
                (bar.get_x() + bar.get_width() / 2, value),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        # The targets, drawn over this phase's bars of the variants measured: 1.08× (gated, #11) and 1.10×
        # (gated_logged) their bare.
        for name, x in zip(names, xs, strict=True):
            if name in PLOTTED_TARGETS:
                ax_cpu.hlines(
                    base * PLOTTED_TARGETS[name],
                    x - width / 2,
                    x + width / 2,
                    colors="black",
                    linestyles="--",
                    linewidth=1,
                )
        top = max(top, *cpu)
    ax_cpu.set_xticks(range(len(names)), names)
    ax_cpu.set_ylabel("server CPU µs per request (ratio to bare)")
    ax_cpu.set_title("Server CPU per request (uvicorn, 1 worker, 1 core); dashes = target")
    ax_cpu.set_ylim(0, top * 1.25)
    ax_cpu.legend(loc="upper left", fontsize=8)
    ax_cpu.grid(axis="y", alpha=0.3)
    meta = summary["meta"]
    fig.suptitle(
        f"cookiegate benchmark ({meta['mode']}, load avg before {meta['load_average_before']}, "
        f"{meta['http']}/{meta['loop']})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------- soak


def _slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares growth of RSS in bytes per second (a leak shows as a steady positive slope)."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_v = sum(v for _, v in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    return sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread if spread else 0.0


def soak(seconds: float, out: Path, workdir: Path, env: dict[str, str], rate: float) -> dict[str, Any]:
    """Serve gated_logged at a fixed rate with a fresh visitor identity per request; sample RSS."""
    env = {**env, "COOKIEGATE_BENCH_CHURN": "1", "COOKIEGATE_BENCH_UA_VARIETY": "3000"}
    # Caches (verdicts, consent tokens, User-Agents) fill in the first minute or two at this rate; after the
    # warm-up the RSS must stay within ±5% of its value then.
    warmup = min(120.0, seconds * 0.2)
    samples: list[tuple[float, int]] = []
    server = Server("gated_logged", workdir, env)
    try:
        phase = Phase("soak", rate, 50, warmup, seconds - warmup)
        result = combine(
            phase,
            run_round(
                [server],
                phase,
                0,
                workdir,
                workdir,
                env,
                on_sample=lambda t, rss: samples.append((t, rss)),
                sample_every=max(1.0, seconds / 120),
            ),
        )
    finally:
        server.stop()
    rss = [value for _, value in samples]
    baseline = rss[0]
    drift = [(value - baseline) / baseline for value in rss]
    report = {
        "variant": "gated_logged",
        "seconds": seconds,
        "warmup_seconds": warmup,
        "rate": rate,
        "baseline_rss_mb": round(baseline / 2**20, 2),
        "final_rss_mb": round(rss[-1] / 2**20, 2),
        "max_rss_mb": round(max(rss) / 2**20, 2),
        "min_rss_mb": round(min(rss) / 2**20, 2),
        "max_drift_pct": round(max(drift, key=abs) * 100, 2),
        "final_drift_pct": round(drift[-1] * 100, 2),
        "flat_within_5pct": all(abs(d) <= 0.05 for d in drift),
        "slope_mb_per_10min": round(_slope(samples) * 600 / 2**20, 2),
        "cpu_us_per_request": result["cpu_us_per_request"],
        "requests": result["server_requests"],
        "failures": result["failures"],
        "access_log_rows": sqlite_rows(server.data_dir),
        "load_average": load_average(),
    }
    with (out / "soak.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["seconds_after_warmup", "rss_mb"])
        writer.writerows((round(t, 1), round(value / 2**20, 2)) for t, value in samples)
    (out / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot([t for t, _ in samples], [v / 2**20 for v in rss], color="#10ac84")
    ax.axhspan(baseline * 0.95 / 2**20, baseline * 1.05 / 2**20, color="#10ac84", alpha=0.1, label="±5% of baseline")
    ax.set_xlabel("seconds after warm-up")
    ax.set_ylabel("server RSS (MiB)")
    ax.set_ylim(0, max(rss) / 2**20 * 1.2)
    ax.set_title(f"Soak: gated_logged at {rate:.0f} req/s, a new visitor identity per request")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "soak.png", dpi=110)
    plt.close(fig)
    return report


# ----------------------------------------------------------------------------------------------- main


def default_out(*, quick: bool) -> Path:
    """``results/`` for a full run (the published figures); a new temp dir for a smoke run, never ``results/``."""
    return Path(tempfile.mkdtemp(prefix="cookiegate-quick-")) if quick else HERE / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: short fixed-rate windows only (< 1 min)")
    parser.add_argument(
        "--out",
        type=Path,
        help="where summary.json, CSVs, PNG go (default: results/; a new temp dir for --quick, so a smoke run "
        "never replaces the published figures)",
    )
    parser.add_argument(
        "--soak",
        type=float,
        nargs="?",
        const=600.0,
        metavar="SECONDS",
        help="instead of the comparison: RSS of gated_logged over SECONDS (default 600)",
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="total requests/s in the fixed-rate phase")
    parser.add_argument("--users", type=int, default=100, help="Locust users (visitors) per phase")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset (bare is needed)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per variant in each phase (full run)")
    parser.add_argument("--keep-workdir", action="store_true", help="keep server/locust logs and SQLite files")
    parser.add_argument(
        "--build", choices=BUILDS, default="compiled", help="the compiled wheel (what ships) or the source tree"
    )
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - {*VARIANTS, *DIAGNOSTIC_VARIANTS})
    if unknown:
        parser.error(f"no such variant: {', '.join(unknown)} (known: {', '.join(VARIANTS + DIAGNOSTIC_VARIANTS)})")
    if "bare" not in variants:
        parser.error("--variants must include bare: every ratio is to bare")

    out: Path = args.out or default_out(quick=args.quick)
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="cookiegate-bench-"))
    key = "cookiegate-bench-" + os.urandom(16).hex()
    token_file = workdir / "tokens.json"
    token_file.write_text(json.dumps(make_tokens(key, 5000 if args.soak else 50)))
    env = {
        **os.environ,
        **prepare(args.build, workdir),
        "COOKIEGATE_BENCH_KEY": key,
        "COOKIEGATE_BENCH_TOKEN_FILE": str(token_file),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    started = time.monotonic()
    try:
        if args.soak:
            print(f"soak: gated_logged for {args.soak:.0f} s at {args.rate / 2:.0f} req/s; load {load_average()}")
            report = soak(args.soak, out, workdir, env, args.rate / 2)
            print(json.dumps(report, indent=2))
            return 0 if report["flat_within_5pct"] else 1

        if args.quick:
            phases = [Phase("fixed_rate", args.rate, args.users, 1.5, 3.0)]
        else:
            phases = [
                Phase("fixed_rate", args.rate, args.users, 2.0, 7.0, rounds=args.rounds),
                # Paired: one 6 s round per variant after another put the gate at 1.07x, 1.43x and 1.26x bare in
                # three runs of one evening (2026-11-23), and bare alone spread from 150 to 228 µs a request over
                # the rounds of one run: this machine's speed moves within seconds. Bare beside each variant, in
                # the same window, moves with it (README, "How it is measured").
                Phase("max_rate", 0, args.users, 2.0, 6.0, rounds=args.rounds, paired=True, fresh_servers=True),
            ]
        meta = _meta(args, phases)
        print(
            f"cookiegate benchmark ({meta['mode']}): {', '.join(variants)}; load average {meta['load_average_before']}",
            flush=True,
        )
        results = measure_all(variants, phases, workdir, out, env)
        meta["load_average_after"] = load_average()
        meta["elapsed_seconds"] = round(time.monotonic() - started, 1)
        summary = summarise(results, meta)
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        write_csv(summary, out / "results.csv")
        plot(summary, out / "benchmark.png")
        print()
        print(table(summary))
        print(f"\nfixed-rate phase: {args.rate:.0f} req/s; targets: {summary['targets']}")
        if "warning" in meta:
            print(f"WARNING: {meta['warning']}")
        print(
            f"load average before {meta['load_average_before']}, after {meta['load_average_after']}; "
            f"{meta['elapsed_seconds']} s; written to {out}"
        )
        return 0
    finally:
        if args.keep_workdir:
            print(f"work files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _meta(args: argparse.Namespace, phases: list[Phase]) -> dict[str, Any]:
    import importlib.util
    import platform

    return {
        "mode": "quick" if args.quick else "full",
        "build": args.build,
        "phases": [phase.__dict__ for phase in phases],
        "load_average_before": load_average(),
        "cpus": os.cpu_count(),
        "pinned": bool(pinning(0)),
        "python": platform.python_version(),
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "weights": os.environ.get("COOKIEGATE_BENCH_WEIGHTS") or "default (see locustfile.py)",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


if __name__ == "__main__":
    raise SystemExit(main())

"""The benchmark suite still runs: small workloads on memory, each printing its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHAPE = {"workload", "backend", "n", "parameters", "figures", "notes", "versions", "machine"}


def run_bench(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {done.stdout!r}"
    result: dict[str, Any] = json.loads(lines[0])
    assert set(result) == SHAPE
    assert result["backend"] == "memory"
    assert result["machine"]["nproc"] >= 1
    assert result["versions"]["evertask"]
    return result


@pytest.mark.parametrize(
    ("args", "figures"),
    [
        (("throughput", "-n", "500"), {"dispatch_per_s", "end_to_end_per_s", "peak_rss_mb", "ratio_to_limit"}),
        (("latency", "-n", "50"), {"p50_ms", "p95_ms", "p99_ms", "curve_ms", "ratio_to_limit"}),
        (("ops", "-n", "2000"), {"first_page_p50_ms", "next_page_p50_ms", "status_p50_ms", "retried", "retry_ms"}),
    ],
    ids=["throughput", "latency", "ops"],
)
def test_workload_prints_its_json_line(args: tuple[str, ...], figures: set[str]) -> None:
    result = run_bench(*args, "--backend", "memory")
    assert result["workload"] == args[0]
    assert result["n"] == int(args[2])
    assert figures <= set(result["figures"])
    assert all(isinstance(result["figures"][name], int | float | list) for name in figures)
    assert all(result["figures"][name] for name in figures), result["figures"]


def test_startup_launches_the_worker_command_and_times_its_first_task() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "startup", "--backend", "sqlite", "-n", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert (result["workload"], result["backend"], result["n"]) == ("startup", "sqlite", 2)
    figures = result["figures"]
    assert 0 < figures["first_task_min_s"] <= figures["first_task_median_s"] <= figures["first_task_max_s"]
    assert figures["first_task_cpu_median_s"] > 0

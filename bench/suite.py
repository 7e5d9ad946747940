"""``python -m bench all``: every workload on every backend, each in its own process (so peak RSS is the
workload's own), then the report."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.harness import DURABLE, BackendName, unavailable
from bench.report import Failure, write_report
from bench.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD_TIMEOUT = 1800


def run_workload(workload: str, backend: BackendName, quick: bool) -> dict[str, Any] | Failure:
    """Run one workload in a fresh interpreter; its JSON line, or why there is none."""
    command = [sys.executable, "-m", "bench", workload, "--backend", backend, *(["--quick"] if quick else [])]
    print(f"== {workload} on {backend}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=WORKLOAD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Failure(workload, backend, f"no result within {WORKLOAD_TIMEOUT} s")
    print(done.stderr, end="", file=sys.stderr, flush=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Failure(workload, backend, f"exit {done.returncode}: {last}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_all(backends: list[BackendName], *, quick: bool, results: Path) -> Path:
    """Run the suite on ``backends`` and write the report; returns the report's path."""
    lines: list[dict[str, Any]] = []
    failures: list[Failure] = []
    for backend in backends:
        reason = asyncio.run(unavailable(backend))
        if reason is not None:
            print(f"== {backend} skipped: {reason}", file=sys.stderr, flush=True)
            failures.append(Failure("all", backend, f"skipped: {reason}"))
            continue
        for workload in WORKLOADS.values():
            if workload.durable_only and backend not in DURABLE:
                continue
            outcome = run_workload(workload.name, backend, quick)
            if isinstance(outcome, Failure):
                failures.append(outcome)
            else:
                lines.append(outcome)
    command = f"python -m bench all --backends {','.join(backends)}{' --quick' if quick else ''}"
    report = write_report(lines, failures, results, command=command, quick=quick)
    print(f"report: {report}", file=sys.stderr)
    return report

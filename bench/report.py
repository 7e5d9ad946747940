"""The report of a suite run: ``bench/results/<date>.md`` (machine line, one table with the targets marked
met or missed), ``<date>.png`` (throughput per backend, latency and lateness distributions) and ``<date>.json``
(the raw lines)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from bench.harness import machine
from bench.workloads import WORKLOADS

BACKEND_TITLES = {"memory": "memory", "sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MySQL"}
INSTALL_MATPLOTLIB = ".venv/bin/pip install matplotlib"


@dataclass(frozen=True, slots=True)
class Failure:
    """A workload that gave no result (or a backend that was skipped), and why."""

    workload: str
    backend: str
    reason: str


@dataclass(frozen=True, slots=True)
class Target:
    """A figure's goal per backend: at least (``>=``) or at most (``<=``) the threshold."""

    workload: str
    figure: str
    op: Literal[">=", "<="]
    thresholds: dict[str, float]

    def met(self, value: float, backend: str) -> bool:
        threshold = self.thresholds[backend]
        return value >= threshold if self.op == ">=" else value <= threshold


_SQL = ("sqlite", "postgres")
_ALL = ("memory", "sqlite", "postgres", "mysql")


def _each(backends: Sequence[str], threshold: float) -> dict[str, float]:
    return dict.fromkeys(backends, threshold)


TARGETS = [
    Target("throughput", "end_to_end_per_s", ">=", {"memory": 25_000, "sqlite": 5_000, "postgres": 5_000}),
    Target("bulk", "dispatch_only_per_s", ">=", _each(_SQL, 50_000)),
    Target("latency", "p50_ms", "<=", {"memory": 1, "sqlite": 3, "postgres": 3}),
    Target("latency", "p99_ms", "<=", {"memory": 5, "sqlite": 15, "postgres": 15}),
    Target("delay-precision", "same_instant_p99_ms", "<=", {"memory": 10, "sqlite": 15, "postgres": 15}),
    Target("delay-precision", "spread_p99_ms", "<=", {"memory": 10, "sqlite": 15, "postgres": 15}),
    Target("scheduled-load", "ratio_to_baseline", ">=", _each(_ALL, 0.9)),
    Target("recovery", "lost", "<=", _each(_ALL, 0)),
    Target("startup", "first_task_median_s", "<=", _each(_SQL, 0.25)),
    *(Target(w, "ratio_to_limit", ">=", _each(_ALL, 0.5)) for w in ("throughput", "bulk", "scheduled-load")),
    Target("bulk", "dispatch_ratio_to_limit", ">=", _each(_ALL, 0.5)),
    *(Target("ops", f"{read}_p50_ms", "<=", _each(_SQL, 50)) for read in ("first_page", "next_page", "deep_page")),
    Target("ops", "status_p50_ms", "<=", _each(_SQL, 200)),
    Target("ops", "retry_ms", "<=", _each(_SQL, 10_000)),
    Target("ops", "claim_wait_max_ms", "<=", _each(_SQL, 100)),
]
_BY_KEY = {(t.workload, t.figure): t for t in TARGETS}


def _number(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def cell(workload: str, figure: str, backend: str, value: Any) -> str:
    """The figure, and beside it its target and whether it was met."""
    target = _BY_KEY.get((workload, figure))
    if target is None or backend not in target.thresholds or not isinstance(value, int | float):
        return _number(value)
    verdict = "**met**" if target.met(value, backend) else "**missed**"
    return f"{_number(value)} ({target.op} {_number(target.thresholds[backend])}: {verdict})"


def table(lines: Sequence[dict[str, Any]]) -> str:
    """One row per (workload, figure), one column per backend; curves left to the plot."""
    backends = list(dict.fromkeys(line["backend"] for line in lines))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for workload in WORKLOADS:
        for line in (x for x in lines if x["workload"] == workload):
            for figure, value in line["figures"].items():
                if not isinstance(value, list):
                    found.setdefault((workload, figure), {})[line["backend"]] = value
    head = ["workload", "figure", *(BACKEND_TITLES[b] for b in backends)]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (workload, figure), values in found.items():
        cells = [cell(workload, figure, b, values[b]) if b in values else "" for b in backends]
        rows.append(f"| {workload} | {figure} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def machine_line(lines: Sequence[dict[str, Any]]) -> str:
    """nproc, CPU model and Python of the machine that ran the suite."""
    seen = lines[0]["machine"] if lines else machine()
    text = f"Machine: {seen['nproc']} cores (nproc), {seen['cpu']}, {seen['implementation']} {seen['python']}"
    stolen = [line["machine"].get("cpu_stolen_pct") or 0.0 for line in lines]
    if any(stolen):
        text += (
            f". CPU time stolen by the hypervisor while the workloads ran: {min(stolen)}-{max(stolen)}%"
            " (per workload in the JSON lines; a workload that lost a share of its CPU measures that much slower)"
        )
    return text


def markdown(lines: Sequence[dict[str, Any]], failures: Sequence[Failure], *, command: str, plot: str | None) -> str:
    day = date.today().isoformat()
    parts = [f"# Benchmark results, {day}", "", machine_line(lines), "", f"Command: `{command}`", "", table(lines), ""]
    versions = {line["backend"]: line["versions"] for line in lines}
    parts += ["Versions:", ""]
    parts += [f"- {BACKEND_TITLES[b]}: " + ", ".join(f"{k} {v}" for k, v in vs.items()) for b, vs in versions.items()]
    sources: dict[tuple[str, str], list[str]] = {}
    for line in lines:
        for note in line["notes"]:
            sources.setdefault((BACKEND_TITLES[line["backend"]], note), []).append(line["workload"])
    if sources:
        notes = [f"- {backend} ({', '.join(workloads)}): {note}" for (backend, note), workloads in sources.items()]
        parts += ["", "Notes:", "", *notes]
    if failures:
        parts += ["", "Not measured:", "", *(f"- {f.workload} on {f.backend}: {f.reason}" for f in failures)]
    missing = f"No plot: matplotlib is missing (`{INSTALL_MATPLOTLIB}`)."
    parts += ["", f"![throughput and latency]({plot})" if plot else missing]
    return "\n".join(parts) + "\n"


def plot(lines: Sequence[dict[str, Any]], path: Path) -> bool:
    """Throughput per backend and the latency and lateness curves; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed, so there is no plot: {INSTALL_MATPLOTLIB}", file=sys.stderr)
        return False
    by = {(line["workload"], line["backend"]): line["figures"] for line in lines}
    backends = list(dict.fromkeys(line["backend"] for line in lines))
    fig, (bars, latency, lateness) = plt.subplots(1, 3, figsize=(16, 5))
    series = [("throughput", "end_to_end_per_s"), ("bulk", "end_to_end_per_s"), ("bulk", "dispatch_only_per_s")]
    width = 0.8 / len(series)
    for i, (workload, figure) in enumerate(series):
        heights = [by.get((workload, b), {}).get(figure, 0) for b in backends]
        offsets = [x + (i - (len(series) - 1) / 2) * width for x in range(len(backends))]
        bars.bar(offsets, heights, width, label=f"{workload} {figure.removesuffix('_per_s')}")
    goal = _BY_KEY[("throughput", "end_to_end_per_s")].thresholds
    marked = [(x, goal[b]) for x, b in enumerate(backends) if b in goal]
    bars.scatter([x for x, _ in marked], [y for _, y in marked], marker="_", s=900, color="black", label="target")
    bars.set_xticks(range(len(backends)), [BACKEND_TITLES[b] for b in backends])
    bars.set_yscale("log")
    bars.set_ylabel("tasks/s")
    bars.set_title("Throughput")
    bars.legend(fontsize="small", loc="best")
    percent = list(range(101))
    for b in backends:
        if curve := by.get(("latency", b), {}).get("curve_ms"):
            latency.plot(_visible(curve), percent, label=BACKEND_TITLES[b])
        for phase in ("same_instant", "spread"):
            if curve := by.get(("delay-precision", b), {}).get(f"{phase}_curve_ms"):
                lateness.plot(_visible(curve), percent, label=f"{BACKEND_TITLES[b]}, {phase.replace('_', ' ')}")
    for axes, title in ((latency, "Dispatch to start"), (lateness, "Lateness of delayed tasks")):
        axes.set_xscale("log")
        axes.set_xlabel("ms")
        axes.set_ylabel("percentile")
        axes.set_title(title)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _visible(curve_ms: list[float]) -> list[float]:
    """A curve on a log axis: times under 10 µs (or early, negative ones) drawn at 10 µs."""
    return [max(x, 0.01) for x in curve_ms]


def write_report(
    lines: Sequence[dict[str, Any]], failures: Sequence[Failure], results: Path, *, command: str, quick: bool
) -> Path:
    """Write ``<date>[-quick].md``, ``.png`` and ``.json`` into ``results``; returns the markdown's path."""
    results.mkdir(parents=True, exist_ok=True)
    stem = date.today().isoformat() + ("-quick" if quick else "")
    (results / f"{stem}.json").write_text(json.dumps(list(lines), indent=1) + "\n")
    picture = results / f"{stem}.png"
    drawn = plot(lines, picture)
    report = results / f"{stem}.md"
    report.write_text(markdown(lines, failures, command=command, plot=picture.name if drawn else None))
    return report

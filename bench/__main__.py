"""``python -m bench WORKLOAD --backend NAME [-n N] [--quick]`` runs one workload and prints its JSON line;
``python -m bench all [--quick] [--backends memory,sqlite,postgres]`` runs every workload on every backend,
each in its own process, and writes ``bench/results/<date>.md`` with a plot."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench.harness import BACKENDS, DURABLE, BackendName, cpu_ticks, emit, server_version, stolen_pct
from bench.workloads import WORKLOADS

RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("workload", choices=[*WORKLOADS, "all"])
    parser.add_argument("--backend", choices=BACKENDS, default="memory", help="for one workload (default memory)")
    parser.add_argument("-n", type=int, help="number of tasks (default: the workload's own)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--backends",
        default="memory,sqlite,postgres",
        help="for all: comma-separated backends (default memory,sqlite,postgres)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="for all: where the report goes")
    return parser.parse_args(argv)


async def run_one(workload_name: str, backend_name: BackendName, n: int | None, quick: bool) -> None:
    workload = WORKLOADS[workload_name]
    if workload.durable_only and backend_name not in DURABLE:
        raise SystemExit(f"{workload_name} needs a durable backend (sqlite, postgres, mysql), not memory")
    count = n if n is not None else workload.quick_n if quick else workload.default_n
    before = cpu_ticks()
    measurement = await workload.run(backend_name, count, quick)
    stolen = stolen_pct(before, cpu_ticks())
    emit(workload_name, backend_name, count, measurement, await server_version(backend_name), stolen)


def main(argv: list[str]) -> None:
    args = parse(argv)
    if args.workload == "all":
        from bench.suite import run_all

        backends = [name.strip() for name in args.backends.split(",") if name.strip()]
        unknown = [name for name in backends if name not in BACKENDS]
        if unknown:
            raise SystemExit(f"unknown backend {unknown[0]!r}: use {', '.join(BACKENDS)}")
        run_all(backends, quick=args.quick, results=args.results)
    else:
        asyncio.run(run_one(args.workload, args.backend, args.n, args.quick))


if __name__ == "__main__":
    main(sys.argv[1:])

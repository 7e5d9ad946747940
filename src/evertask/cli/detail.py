"""``evertask tasks show`` for people: a task's fields, payload, executions with tracebacks, history, result."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evertask.cli.listing import Column, Listing
from evertask.cli.output import console, when
from evertask.ops import TaskDetail
from evertask.ops.views import error_line


def print_detail(task: TaskDetail) -> None:
    """Print everything about ``task``, in the order an operator reads it: what, executions, history."""
    out = console()
    out.print(Text(f"Task {task.id}", style="bold"))
    out.print(_fields(task))
    _section(out, "Payload")
    out.print(Text(json.dumps(task.payload, indent=2, ensure_ascii=False)))
    _section(out, "Executions")
    if task.executions:
        _executions(out, task)
    else:
        out.print("none yet")
    _section(out, "History")
    rows = Listing("at", "change", Column("by", squeeze=True), Column("error", squeeze=True))
    for entry in task.history:
        rows.add(
            when(entry.at), f"{entry.from_status or '-'} -> {entry.to_status}", entry.actor, error_line(entry.error)
        )
    rows.print(out)
    _section(out, "Result")
    out.print(Text(json.dumps(task.result, indent=2, ensure_ascii=False)))


def _fields(task: TaskDetail) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows: list[tuple[str, object]] = [
        ("type", task.type),
        ("status", f"{task.status}{' (cancel requested)' if task.cancel_requested else ''}"),
        ("queue", task.queue),
        ("key", task.key),
        ("priority", task.priority),
        ("created", when(task.created_at)),
        ("scheduled", when(task.scheduled_at)),
        ("started", when(task.started_at)),
        ("finished", when(task.finished_at)),
        ("attempts", task.attempts),
        ("worker", task.worker),
        ("recoveries", task.recoveries),
    ]
    if task.schedule is not None:
        cron = f" (cron {task.schedule.cron})" if task.schedule.cron else ""
        rows += [("schedule", task.schedule.description + cron), ("runs", task.run_count)]
        rows.append(("last run", when(task.last_run_at)))
    if task.error:
        rows.append(("error", task.error))
    for name, value in rows:
        grid.add_row(Text(name), Text("-" if value is None else str(value)))
    return grid


def _executions(out: Console, task: TaskDetail) -> None:
    rows = Listing(
        "#",
        Column("run", optional=True),
        "outcome",
        Column("worker", squeeze=True),
        "started",
        "seconds",
        Column("error", squeeze=True),
    )
    for execution in task.executions:
        error = ": ".join(part for part in (execution.error_type, execution.error_message) if part)
        rows.add(
            execution.attempt,
            execution.run,
            execution.outcome,
            execution.worker,
            when(execution.started_at),
            f"{execution.duration:.3f}",
            error or None,
        )
    rows.print(out)
    for execution in task.executions:
        if execution.traceback:
            run = f" of run {execution.run}" if task.recurring else ""
            out.print()
            out.print(Text(f"Execution {execution.attempt}{run}:", style="bold"))
            out.print(Text(execution.traceback.rstrip()))


def _section(out: Console, title: str) -> None:
    out.print()
    out.print(Text(title, style="bold underline"))

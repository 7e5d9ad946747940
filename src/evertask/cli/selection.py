"""The options that select tasks, shared by ``tasks list``, ``retry``, ``cancel`` and ``purge``, and the
service :class:`~evertask.ops.Filter` they make."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from evertask.cli.output import span
from evertask.ops import Filter
from evertask.task import TaskStatus

Statuses = Annotated[
    list[TaskStatus] | None, typer.Option("--status", "-s", help="Only tasks in this status (repeat for several).")
]
Queues = Annotated[list[str] | None, typer.Option("--queue", "-q", help="Only tasks of this queue (repeatable).")]
Types = Annotated[list[str] | None, typer.Option("--type", "-t", help="Only tasks of this type (repeatable).")]
Key = Annotated[str | None, typer.Option("--key", "-k", help="Only the task with this key.")]
Search = Annotated[
    str | None, typer.Option(help="Case-insensitive text in the type, key, last error or payload.", show_default=False)
]
Recurring = Annotated[
    bool | None,
    typer.Option("--recurring/--one-off", help="Only recurring series / only one-off tasks.", show_default=False),
]


def make_filter(
    *,
    status: list[TaskStatus] | None,
    queue: list[str] | None,
    task_type: list[str] | None,
    key: str | None,
    search: str | None,
    recurring: bool | None,
) -> Filter:
    """The service filter of the selection options (an option left out matches every task)."""
    return Filter(status=status, queue=queue, type=task_type, key=key, search=search, recurring=recurring)


def describe(selection: Filter, older_than: timedelta | None = None) -> str:
    """The selection in the words of the options, for a confirmation question (``status=failed, queue=mail``)."""
    words = [
        f"{name}={','.join(str(v) for v in value) if isinstance(value, list) else value}"
        for name, value in selection.model_dump(mode="json", exclude_none=True).items()
    ]
    if older_than is not None:
        words.append(f"finished more than {span(older_than)} ago")
    return ", ".join(words)

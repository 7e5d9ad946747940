"""``evertask tasks``: find, inspect, retry, cancel and purge tasks."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

import typer

from evertask.cli import actions, detail
from evertask.cli.durations import duration_parser
from evertask.cli.listing import Column, Listing
from evertask.cli.output import DryRun, Json, Yes, console, print_json, relative
from evertask.cli.selection import Key, Queues, Recurring, Search, Statuses, Types, make_filter
from evertask.cli.session import call
from evertask.ops import TaskPage

tasks = typer.Typer(help="Find, inspect, retry, cancel and purge tasks.", no_args_is_help=True)

Ids = Annotated[
    list[UUID] | None,
    typer.Argument(help="Task ids; or select tasks with the options.", metavar="ID", show_default=False),
]


@tasks.command("list")
def list_tasks(
    ctx: typer.Context,
    status: Statuses = None,
    queue: Queues = None,
    task_type: Types = None,
    key: Key = None,
    search: Search = None,
    recurring: Recurring = None,
    sort: Annotated[str, typer.Option(help="Order by created, scheduled or finished.")] = "created",
    oldest_first: Annotated[bool, typer.Option("--oldest-first", help="Oldest first (default: newest).")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Tasks per page (1 to 1000).")] = 50,
    cursor: Annotated[str | None, typer.Option(help="The next page: the cursor the previous page printed.")] = None,
    as_json: Json = False,
) -> None:
    """List tasks, newest first, one page at a time."""
    selection = make_filter(
        status=status, queue=queue, task_type=task_type, key=key, search=search, recurring=recurring
    )
    page = call(
        ctx,
        lambda ops: ops.list_tasks(selection, sort=sort, descending=not oldest_first, limit=limit, cursor=cursor),
    )
    if as_json:
        print_json(page)
    else:
        _print_page(page, sort)


def _print_page(page: TaskPage, sort: str) -> None:
    out = console()
    if not page.tasks:
        out.print("no tasks match")
        return
    rows = Listing(
        "id",
        Column("type", squeeze=True),
        "status",
        Column("queue", optional=True),
        Column("tries", optional=True),
        sort,
        Column("error", squeeze=True),
    )
    for task in page.tasks:
        shown = {"created": task.created_at, "scheduled": task.scheduled_at, "finished": task.finished_at}[sort]
        rows.add(task.id, task.type, task.status, task.queue, task.attempts, relative(shown), task.error)
    rows.print(out)
    if page.next_cursor is not None:
        out.print(f"more: add --cursor {page.next_cursor}", soft_wrap=True)


@tasks.command()
def show(
    ctx: typer.Context,
    task_id: Annotated[UUID | None, typer.Argument(help="The task's id.", show_default=False)] = None,
    key: Annotated[str | None, typer.Option("--key", "-k", help="Find the task by its key instead.")] = None,
    as_json: Json = False,
) -> None:
    """Everything about one task: its fields, payload, each execution with its traceback, history and result."""
    if (task_id is None) == (key is None):
        ctx.fail("give a task id or --key, one of the two")
    found = call(ctx, lambda ops: ops.get_task(task_id) if task_id is not None else ops.find_by_key(key or ""))
    if as_json:
        print_json(found)
    else:
        detail.print_detail(found)


@tasks.command()
def retry(
    ctx: typer.Context,
    task_ids: Ids = None,
    status: Statuses = None,
    queue: Queues = None,
    task_type: Types = None,
    key: Key = None,
    search: Search = None,
    recurring: Recurring = None,
    payload: Annotated[
        str | None, typer.Option(help="Retry with this payload instead (a JSON object; one task id only).")
    ] = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    as_json: Json = False,
) -> None:
    """Put failed or cancelled tasks back in their queue, due now, with their attempts counted from zero.

    Give task ids, or select tasks with the options (only the failed and cancelled ones among them are retried;
    a selection asks for confirmation unless --yes)."""
    selection = make_filter(
        status=status, queue=queue, task_type=task_type, key=key, search=search, recurring=recurring
    )
    if payload is not None:
        edited = _payload(payload)
        if len(task_ids or ()) != 1 or not selection.is_empty() or dry_run:
            raise typer.BadParameter("an edited payload retries exactly one task id", param_hint="--payload")
        retried = call(ctx, lambda ops: ops.retry((task_ids or [])[0], payload=edited))
        actions.report_each("retried", [retried], as_json=as_json)
        return
    actions.on_ids_or_selection(
        ctx,
        actions.RETRY,
        task_ids,
        selection,
        one=lambda ops, task_id: ops.retry(task_id),
        many=lambda ops, chosen, dry: ops.retry_matching(chosen, dry_run=dry),
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
    )


@tasks.command()
def cancel(
    ctx: typer.Context,
    task_ids: Ids = None,
    status: Statuses = None,
    queue: Queues = None,
    task_type: Types = None,
    key: Key = None,
    search: Search = None,
    recurring: Recurring = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    as_json: Json = False,
) -> None:
    """Cancel tasks: a waiting one never runs; a running one is stopped by its worker at its next heartbeat.

    Give task ids, or select tasks with the options (finished ones among them are left alone; a selection asks
    for confirmation unless --yes)."""
    selection = make_filter(
        status=status, queue=queue, task_type=task_type, key=key, search=search, recurring=recurring
    )
    actions.on_ids_or_selection(
        ctx,
        actions.CANCEL,
        task_ids,
        selection,
        one=lambda ops, task_id: ops.cancel(task_id),
        many=lambda ops, chosen, dry: ops.cancel_matching(chosen, dry_run=dry),
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
    )


@tasks.command()
def purge(
    ctx: typer.Context,
    status: Statuses = None,
    queue: Queues = None,
    task_type: Types = None,
    key: Key = None,
    search: Search = None,
    recurring: Recurring = None,
    older_than: Annotated[
        timedelta | None,
        typer.Option(
            parser=duration_parser, metavar="AGE", help="Only tasks finished more than AGE ago: 30m, 12h, 7d, 2w."
        ),
    ] = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    as_json: Json = False,
) -> None:
    """Delete finished tasks (completed, failed, cancelled) with their history and executions, for good.

    Tasks that have not finished are never deleted. Asks for confirmation unless --yes."""
    selection = make_filter(
        status=status, queue=queue, task_type=task_type, key=key, search=search, recurring=recurring
    )
    actions.bulk(
        ctx,
        actions.PURGE,
        selection,
        older_than=older_than,
        many=lambda ops, chosen, dry: ops.purge(chosen, older_than=older_than, dry_run=dry),
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
    )


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--payload") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("a payload is a JSON object ({...})", param_hint="--payload")
    return value

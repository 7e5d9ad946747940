"""Acting on tasks given by id (each one reported) or by a selection (counted, confirmed, then done in bulk)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import typer

from evertask.cli.output import confirm, console, ensure_terminal, plural, print_json, reply
from evertask.cli.selection import describe
from evertask.cli.session import call
from evertask.errors import EverTaskError
from evertask.ops import BulkResult, Filter, Operations, TaskSummary

One = Callable[[Operations, UUID], Awaitable[TaskSummary]]
Many = Callable[[Operations, Filter, bool], Awaitable[BulkResult]]


@dataclass(frozen=True, slots=True)
class Action:
    """An action's words: ``retry`` / ``retried``; ``warning`` is added to its confirmation question."""

    verb: str
    done: str
    warning: str = ""


RETRY = Action("retry", "retried")
CANCEL = Action("cancel", "cancelled")
PURGE = Action("delete", "deleted", " Their history and executions go too; this cannot be undone.")


def on_ids_or_selection(
    ctx: typer.Context,
    action: Action,
    task_ids: Sequence[UUID] | None,
    selection: Filter,
    *,
    one: One,
    many: Many,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Do ``action`` on the tasks given by id (``one`` for each, each reported), or else in bulk on those
    ``selection`` matches (see :func:`bulk`). A dry run on ids counts those the action applies to."""
    if task_ids and not selection.is_empty():
        ctx.fail("give task ids or selection options, not both")
    if not task_ids:
        bulk(ctx, action, selection, many=many, dry_run=dry_run, yes=yes, as_json=as_json)
    elif dry_run:
        _report(action, call(ctx, lambda ops: many(ops, Filter(id=list(task_ids)), True)), as_json)
    else:
        _each(ctx, action, task_ids, one, as_json)


def bulk(
    ctx: typer.Context,
    action: Action,
    selection: Filter,
    *,
    many: Many,
    older_than: timedelta | None = None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Do ``action`` on every task ``selection`` matches, after counting them and asking the operator (unless
    ``yes``); a dry run only counts."""
    if not dry_run and not yes:
        ensure_terminal()  # before counting: where nobody can answer, refuse at once
        counted = call(ctx, lambda ops: many(ops, selection, True)).count
        if counted:
            question = f"{action.verb.capitalize()} {plural(counted, 'task')} ({describe(selection, older_than)})?"
            confirm(question + action.warning)
    _report(action, call(ctx, lambda ops: many(ops, selection, dry_run)), as_json)


def report_each(done: str, changed: Sequence[TaskSummary], *, as_json: bool) -> None:
    """Say which tasks an action changed, and the status each is in now."""
    if as_json:
        print_json(list(changed))
        return
    out = console()
    for task in changed:
        out.print(f"{done} {task.id} ({task.type}): now {task.status}")


def _each(ctx: typer.Context, action: Action, task_ids: Sequence[UUID], one: One, as_json: bool) -> None:
    async def act(ops: Operations) -> tuple[list[TaskSummary], list[str]]:
        changed, refused = [], []
        for task_id in task_ids:
            try:
                changed.append(await one(ops, task_id))
            except EverTaskError as exc:  # the others are still done; the exit status says one was not
                refused.append(str(exc))
        return changed, refused

    changed, refused = call(ctx, act)
    report_each(action.done, changed, as_json=as_json)
    for reason in refused:
        typer.echo(f"error: {reason}", err=True)
    if refused:
        raise typer.Exit(2)


def _report(action: Action, result: BulkResult, as_json: bool) -> None:
    counted = plural(result.count, "task")
    sentence = (
        f"would {action.verb} {counted} (dry run: nothing changed)" if result.dry_run else f"{action.done} {counted}"
    )
    reply(result, sentence, as_json=as_json)

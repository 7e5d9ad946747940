"""What every operations command shares: the storage URL and actor given to ``evertask``, and one
:class:`~evertask.ops.Operations` service opened for the command's duration."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import typer

from evertask.ops import Operations

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Session:
    """The root options, kept in the click context's ``obj``."""

    url: str | None
    schema: str | None
    actor: str


def default_actor() -> str:
    """``cli:<login name>``: who the history says did an action (``cli`` where the login is unknown)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return "cli"


def session(ctx: typer.Context) -> Session:
    """The root options of this invocation."""
    found = ctx.find_object(Session)
    if found is None:  # only a command invoked without the root callback, which the console script never does
        raise RuntimeError("evertask's root options were not parsed")
    return found


def storage_url(ctx: typer.Context) -> str:
    """The storage URL: ``evertask --url URL`` or the ``EVERTASK_URL`` environment variable."""
    url = session(ctx).url
    if not url:
        raise typer.BadParameter("give the storage URL: evertask --url URL ... or set EVERTASK_URL", param_hint="--url")
    return url


def call(ctx: typer.Context, action: Callable[[Operations], Awaitable[T]]) -> T:
    """Open the operations service on the storage URL (and schema), run ``action`` with it, close it, return
    what ``action`` returned. Actions are recorded in the task history as done by ``--actor``."""
    url = storage_url(ctx)
    options = session(ctx)

    async def run() -> T:
        from evertask.storage.sql import storage_from_url  # needs the sqlite, postgres or mysql extra

        # Never migrates: an operator's look at a database must not change its schema (nor create tables in a
        # database named by a typo); an old or missing schema is an error saying to run `evertask db upgrade`.
        storage = storage_from_url(url, schema=options.schema, auto_migrate=False)
        async with Operations(storage, actor=options.actor) as ops:
            return await action(ops)

    return asyncio.run(run())

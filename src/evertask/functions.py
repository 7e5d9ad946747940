"""The ``@app.task`` shortcut: a plain function becomes a task type and its handler.

The function's parameters (all but one annotated :class:`TaskContext`, which receives the context) become the
fields of a generated :class:`Task` model, so they are validated and stored like any payload. The task's
stable name is ``module.qualname`` of the function, or ``name=`` when given.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar
from uuid import UUID

from pydantic import ValidationError, create_model

from evertask.context import TaskContext
from evertask.errors import ConfigurationError, TaskValidationError
from evertask.handler import Handler, SyncHandler
from evertask.retry import RetryPolicy
from evertask.serialization import validation_summary
from evertask.task import Task

if TYPE_CHECKING:
    from evertask.app import EverTask
    from evertask.schedule import Schedule

P = ParamSpec("P")
R = TypeVar("R")
_RESERVED = frozenset({"delay", "at", "recurring", "key", "queue", "priority"})


class TaskFunction(Generic[P, R]):
    """A function registered as a task: call it directly, or ``await f.dispatch(...)`` to run it as a task."""

    def __init__(self, app: EverTask, fn: Callable[P, R], task_cls: type[Task]) -> None:
        self.app = app
        self.fn = fn
        self.task_cls = task_cls
        self.signature = inspect.signature(fn)
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def payload(self, *args: Any, **kwargs: Any) -> Task:
        """The task payload for these arguments; :class:`TaskValidationError` if they do not fit."""
        try:
            bound = self.signature.bind_partial(*args, **kwargs)
            return self.task_cls(**bound.arguments)
        except ValidationError as exc:
            raise TaskValidationError(self.task_cls.task_name, validation_summary(exc)) from exc
        except TypeError as exc:
            raise TaskValidationError(self.task_cls.task_name, str(exc)) from exc

    async def dispatch(
        self,
        *args: Any,
        delay: timedelta | None = None,
        at: datetime | None = None,
        recurring: Schedule | None = None,
        key: str | None = None,
        queue: str | None = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> UUID:
        """Store a task that calls the function with these arguments; the same options as ``app.dispatch``."""
        return await self.app.dispatch(
            self.payload(*args, **kwargs),
            delay=delay,
            at=at,
            recurring=recurring,
            key=key,
            queue=queue,
            priority=priority,
        )


def make_task_function(
    app: EverTask,
    fn: Callable[P, R],
    *,
    name: str | None,
    queue: str | None,
    timeout: timedelta | None,
    retry: RetryPolicy | None,
) -> TaskFunction[P, R]:
    """Build the task model and handler class for ``fn`` and register them with ``app``."""
    hints = typing.get_type_hints(fn)
    fields: dict[str, Any] = {}
    ctx_param: str | None = None
    for param in inspect.signature(fn).parameters.values():
        annotation = hints.get(param.name, Any)
        if annotation is TaskContext:
            ctx_param = param.name
            continue
        if param.name in _RESERVED:
            raise ConfigurationError(f"{fn.__qualname__}: parameter name {param.name!r} is reserved by dispatch()")
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(f"{fn.__qualname__}: *args/**kwargs cannot be stored as a task payload")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, default)
    model_name = "".join(part.capitalize() for part in fn.__name__.split("_")) + "Task"
    task_cls = create_model(model_name, __base__=Task, __module__=fn.__module__, **fields)
    task_cls.task_name = name or f"{fn.__module__}.{fn.__qualname__}"
    field_names = tuple(fields)

    def arguments(task: Task, ctx: TaskContext) -> dict[str, Any]:
        values = {f: getattr(task, f) for f in field_names}
        if ctx_param is not None:
            values[ctx_param] = ctx
        return values

    call = typing.cast(Callable[..., Any], fn)
    if inspect.iscoroutinefunction(fn):

        async def handle_async(self: Any, task: Task, ctx: TaskContext) -> object:
            return await call(**arguments(task, ctx))

        base: Any = Handler[task_cls]
        body: dict[str, Any] = {"handle": handle_async}
    else:

        def handle_sync(self: Any, task: Task, ctx: TaskContext) -> object:
            return call(**arguments(task, ctx))

        base = SyncHandler[task_cls]
        body = {"handle": handle_sync}
    body.update(queue=queue, timeout=timeout, retry=retry, __module__=fn.__module__)
    handler_cls = types.new_class(f"{model_name}Handler", (base,), {}, lambda ns: ns.update(body))
    app.register(handler_cls)
    return TaskFunction(app, fn, task_cls)

"""Which handler runs which task type: the registry, keyed by each task class's stable name."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

from evertask.errors import ConfigurationError, HandlerAlreadyRegisteredError, UnknownTaskTypeError
from evertask.handler import Handler, SyncHandler, _HandlerSettings, task_type_of
from evertask.limits import MAX_TYPE_NAME_LENGTH, text_problem
from evertask.ratelimit import RateLimit
from evertask.retry import RetryPolicy
from evertask.task import Task

_HOOKS = ("on_started", "on_completed", "on_error")


@dataclass(frozen=True, slots=True)
class Registration:
    """A task type and how to run it, read once at registration so that execution does no reflection."""

    name: str
    task_cls: type[Task]
    handler_cls: type[Any]
    is_async: bool
    hooks: frozenset[str]
    timeout: timedelta | None
    retry: RetryPolicy | None
    queue: str | None
    rate_limit: RateLimit | None


def storable_task_name(task_cls: type[Task]) -> str:
    """The name ``task_cls`` is stored under; :class:`ConfigurationError` if no backend could store it."""
    problem = text_problem(task_cls.task_name, MAX_TYPE_NAME_LENGTH)
    if problem is not None:
        raise ConfigurationError(f"task type name {task_cls.task_name!r} of {task_cls.__qualname__}: {problem}")
    return task_cls.task_name


class Registry:
    """Maps task type names to their registration."""

    def __init__(self) -> None:
        self._by_name: dict[str, Registration] = {}

    def register(self, handler_cls: type[Any]) -> Registration:
        """Register a handler class; a second handler for the same task type is an error."""
        task_cls = task_type_of(handler_cls)
        name = storable_task_name(task_cls)
        if name in self._by_name:
            raise HandlerAlreadyRegisteredError(name)
        registration = Registration(
            name=name,
            task_cls=task_cls,
            handler_cls=handler_cls,
            is_async=inspect.iscoroutinefunction(handler_cls.handle),
            # Hooks left as the base class's no-ops are skipped, which saves three awaits per task.
            hooks=frozenset(h for h in _HOOKS if getattr(handler_cls, h) is not getattr(_HandlerSettings, h)),
            timeout=handler_cls.timeout,
            retry=handler_cls.retry,
            queue=handler_cls.queue,
            rate_limit=handler_cls.rate_limit,
        )
        self._by_name[name] = registration
        return registration

    def register_module(self, module: ModuleType) -> list[Registration]:
        """Register every handler class defined in ``module`` (not those it imports)."""
        found = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and obj.__module__ == module.__name__
            and issubclass(obj, (Handler, SyncHandler))
            and obj not in (Handler, SyncHandler)
            and not inspect.isabstract(obj)
        ]
        return [self.register(cls) for cls in found]

    def get(self, name: str) -> Registration:
        """The registration of a task type name; :class:`UnknownTaskTypeError` if there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownTaskTypeError(name) from None

    def for_task(self, task: Task) -> Registration:
        """The registration of a task instance's type."""
        return self.get(type(task).task_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        """All registered task type names, sorted."""
        return sorted(self._by_name)

"""Task payloads to and from JSON, with errors that name the task type and the problem."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from evertask.errors import SerializationError
from evertask.task import Task


def dump_payload(task: Task) -> str:
    """The JSON text stored for ``task``; raises :class:`SerializationError` if a field cannot be encoded."""
    try:
        return task.model_dump_json()
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise SerializationError(type(task).task_name, str(exc)) from exc


def load_payload(task_cls: type[Task], payload: str) -> Task:
    """Rebuild a task from stored JSON; a payload that no longer fits the class raises SerializationError."""
    try:
        return task_cls.model_validate_json(payload)
    except ValidationError as exc:
        reason = f"stored payload no longer matches {task_cls.__qualname__}: {exc.errors(include_url=False)}"
        raise SerializationError(task_cls.task_name, reason) from exc

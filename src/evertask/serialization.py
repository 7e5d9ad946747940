"""Task payloads to and from JSON, with errors that name the task type and the problem, never payload values."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from evertask.errors import SerializationError
from evertask.task import Task

M = TypeVar("M", bound=BaseModel)


def validation_summary(exc: ValidationError) -> str:
    """``exc`` as its fields and kinds of error (``"2 errors: iban (missing), amount (int_parsing)"``).

    pydantic's own text shows the input values, and payloads carry personal data: this is what evertask puts in
    messages, logs and stored errors instead.
    """
    problems = ", ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(the whole payload)'} ({error['type']})"
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    )
    count = exc.error_count()
    return f"{count} error{'' if count == 1 else 's'}: {problems}"


def dump_payload(task: Task) -> str:
    """The JSON text stored for ``task``; raises :class:`SerializationError` if a field cannot be encoded."""
    try:
        return task.model_dump_json()
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise SerializationError(type(task).task_name, str(exc)) from exc


def load_payload(task_cls: type[Task], payload: str) -> Task:
    """Rebuild a task from stored JSON; a payload that no longer fits the class raises SerializationError."""
    return load_stored(task_cls, payload, task_cls.task_name)


def load_stored(model_cls: type[M], payload: str, name: str) -> M:
    """Rebuild ``model_cls`` (stored under ``name``) from JSON; a payload that no longer fits it raises
    :class:`SerializationError` naming the fields and kinds of error, without the values."""
    try:
        return model_cls.model_validate_json(payload)
    except ValidationError as exc:
        reason = f"stored payload no longer matches {model_cls.__qualname__}: {validation_summary(exc)}"
        raise SerializationError(name, reason) from None  # pydantic's text, with the values, stays out of logs

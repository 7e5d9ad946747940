"""Task payloads to and from JSON, with errors that name the task type and the problem, never payload values.

A payload is stored only if it comes back: :func:`dump_payload` loads the JSON it made into the task class again
and compares. JSON has no NaN or infinity (pydantic writes ``null``), nests only so deep before pydantic's parser
refuses it, and has no tuples or sets; without this check such a task is accepted and then fails, or runs with
other values, when a worker loads it. Error messages name fields, never values (payloads carry personal data).
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, from_json

from evertask.errors import SerializationError, TaskValidationError
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


def dump_payload(model: BaseModel, name: str) -> bytes:
    """The JSON stored for ``model`` (a task, or a deferred mediator message), UTF-8 encoded.

    Raises :class:`SerializationError` if a field cannot be encoded, and :class:`TaskValidationError` naming the
    field if the JSON would not load back into an equal model. ``name`` is the task type named in the errors.
    """
    # The model's own serializer and validator, which model_dump_json and model_validate_json wrap: called
    # directly (and looked up on the instance, which is twice as fast as on the class), the whole round trip
    # costs little more than model_dump_json alone did. This runs at every dispatch.
    try:
        payload = model.__pydantic_serializer__.to_json(model)
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise SerializationError(name, str(exc)) from exc
    try:
        loaded = model.__pydantic_validator__.validate_json(payload)
    except ValidationError as exc:
        # Not chained: pydantic's message quotes the input, and tracebacks end up in logs.
        raise TaskValidationError(name, _unreadable(model, payload, exc)) from None
    # The fields and extras, as BaseModel.__eq__ compares them at a tenth of its cost; private attributes are
    # not payload, and pydantic never stores them.
    if (loaded.__dict__ != model.__dict__ or loaded.__pydantic_extra__ != model.__pydantic_extra__) and not _same(
        model, loaded
    ):
        raise TaskValidationError(name, _changed(model, loaded))
    return payload


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


_NO_JSON_FORM = "NaN and infinity have no JSON form"


def _unreadable(model: BaseModel, payload: bytes, exc: ValidationError) -> str:
    """Which fields of ``payload`` fail to load back, and why (pydantic's messages, without the input)."""
    problems: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        if error["loc"]:
            name = str(error["loc"][0])
            hint = f" ({_NO_JSON_FORM})" if _non_finite(getattr(model, name, None)) else ""
            problems.append(f"field {name!r} would not load back from its stored JSON: {error['msg']}{hint}")
        else:  # the JSON itself is refused: some field nests deeper than pydantic's parser reads
            problems.extend(
                f"field {name!r} is nested too deeply to load back from JSON (pydantic reads at most 200 levels, "
                "the task itself counting as one)"
                for name, value in json.loads(payload).items()
                if _too_deep({name: value})
            )
    return "; ".join(problems) or "the stored JSON would not load back"


def _too_deep(payload: dict[str, Any]) -> bool:
    try:
        from_json(json.dumps(payload))
    except ValueError:
        return True
    return False


def _changed(model: BaseModel, loaded: BaseModel) -> str:
    names = [
        name
        for name in {**model.__dict__, **(model.__pydantic_extra__ or {})}
        if not _same(getattr(model, name, None), getattr(loaded, name, None))
    ]
    return "; ".join(_change(name, getattr(model, name), getattr(loaded, name, None)) for name in names)


def _change(name: str, before: object, after: object) -> str:
    if _non_finite(before):
        return f"field {name!r} would come back as {type(after).__name__} from its stored JSON ({_NO_JSON_FORM})"
    if type(before) is not type(after):
        return (
            f"field {name!r} would come back as {type(after).__name__}, not {type(before).__name__}, from its "
            "stored JSON (annotate the field with its type, or give it JSON values: dict, list, str, int, float)"
        )
    return (
        f"field {name!r} would come back changed from its stored JSON (values JSON cannot hold inside it, such as "
        "NaN, infinity, tuples or sets, or a field excluded from JSON)"
    )


def _non_finite(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _same(a: object, b: object) -> bool:
    """Equal, counting NaN equal to NaN (a model configured with ``ser_json_inf_nan`` stores and reloads it)."""
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        return math.isnan(a) and math.isnan(b)
    if isinstance(a, BaseModel) and type(a) is type(b):
        return _same(a.__dict__, b.__dict__) and _same(a.__pydantic_extra__, b.__pydantic_extra__)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(value, b[key]) for key, value in a.items())
    if isinstance(a, list | tuple) and type(a) is type(b):
        return len(a) == len(b) and all(map(_same, a, b))
    return False

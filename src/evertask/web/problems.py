"""Errors as RFC 9457 problem documents (``application/problem+json``), named by the typed error.

An unknown id is 404, an action not allowed in the task's status 409, a bad filter or payload 422, missing
credentials 401, a role or origin that may not act 403, a database that does not answer 503. The ``detail``
is the typed error's message, which names the problem and never holds a payload value or a password; an
unexpected failure is a bare 500 whose cause goes to the server log only.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from evertask.errors import (
    ActionNotAllowedError,
    EverTaskError,
    InvalidArgumentError,
    InvalidFilterError,
    InvalidTaskError,
    NotStartedError,
    StorageError,
    StorageSchemaError,
    StorageUnavailableError,
    TaskNotFoundError,
)
from evertask.web.auth import AuthError

logger = logging.getLogger("evertask.web")

PROBLEM_JSON = "application/problem+json"
_STATUS: tuple[tuple[type[EverTaskError], int], ...] = (  # the first match wins: subclasses before bases
    (TaskNotFoundError, 404),
    (ActionNotAllowedError, 409),
    (InvalidArgumentError, 422),
    (InvalidFilterError, 422),
    (InvalidTaskError, 422),
    (NotStartedError, 503),
    (StorageUnavailableError, 503),
    (StorageSchemaError, 503),
    (StorageError, 500),
)


class FieldProblem(BaseModel):
    """One invalid part of a request: where (``loc``), what is wrong (``msg``), and pydantic's ``type``."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document; ``error`` is the name of evertask's typed error."""

    type: str = Field(description="A URI naming the kind of problem: urn:evertask:error:<error>.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    error: str
    errors: list[FieldProblem] | None = Field(default=None, description="The invalid parts of a 422 request.")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that may answer with problems of these statuses."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase, "content": {PROBLEM_JSON: {}}}
        for status in statuses
    }


def status_of(error: EverTaskError) -> int:
    """The HTTP status of a typed error."""
    if isinstance(error, AuthError):
        return error.status
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def problem(
    request: Request, status: int, error: str, detail: str, errors: list[FieldProblem] | None = None
) -> JSONResponse:
    """A problem document response."""
    body = Problem(
        type=f"urn:evertask:error:{error}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        error=error,
        errors=errors,
    )
    headers = {"WWW-Authenticate": 'Bearer realm="evertask"'} if status == 401 else None
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem document."""

    async def typed(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EverTaskError)
        status = status_of(exc)
        if status >= 500:
            logger.warning("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return problem(request, status, type(exc).__name__, str(exc))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Where and what only: the values sent (a payload, a token) are never echoed back.
        errors = [FieldProblem(loc=list(e["loc"]), msg=e["msg"], type=e["type"]) for e in exc.errors()]
        where = "; ".join(f"{'.'.join(str(p) for p in e.loc)}: {e.msg}" for e in errors[:5])
        return problem(request, 422, "InvalidRequest", f"the request is not valid: {where}", errors)

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        name = HTTPStatus(exc.status_code).phrase.replace(" ", "")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
        return problem(request, exc.status_code, name, detail)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("%s %s failed unexpectedly: %s", request.method, request.url.path, type(exc).__name__)
        return problem(request, 500, "InternalServerError", "the server failed; its log has the cause")

    app.add_exception_handler(EverTaskError, typed)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, unexpected)

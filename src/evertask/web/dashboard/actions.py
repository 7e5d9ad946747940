"""The dashboard's forms (POST): sign in and out, and every action an operator takes, each through the operations
service with the visitor's name as the actor.

An action answers with a redirect back to the page it came from (post, redirect, get), carrying a one-time
notice in a cookie; a bulk action first shows how many tasks it would change (a dry run) and acts only once
that count is confirmed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from evertask.app import utc_now
from evertask.errors import EverTaskError, InvalidFilterError, TaskValidationError
from evertask.ops import Filter
from evertask.web.auth import AuthError, check_same_origin
from evertask.web.dashboard import forms
from evertask.web.dashboard.access import Visitor, acting, dashboard, ops, settings
from evertask.web.dashboard.pages import FLASH_COOKIE, _safe_next, render, task_page

router = APIRouter(include_in_schema=False)
FAILED_SIGN_IN_DELAY = 0.5
"""Seconds a wrong sign-in waits before it answers, so that guessing passwords is slow."""


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    """Sign in with a token, or a user's name and password; then go where the visitor was going."""
    fields = await forms.form(request)
    auth = settings(request)
    board = dashboard(request)
    next_url = _safe_next(forms.one(fields, "next"))
    check_same_origin(request, auth.trusted_origins)
    principal = auth.sign_in(
        token=forms.one(fields, "token") or None,
        name=forms.one(fields, "name") or None,
        password=(fields.get("password") or [""])[0] or None,
    )
    if principal is None:
        await asyncio.sleep(FAILED_SIGN_IN_DELAY)
        return board.pages.render(
            request,
            "login.html",
            {
                "visitor": None,
                "next": next_url,
                "error": "Those credentials are not valid.",
                "with_users": bool(auth.users),
                "with_tokens": bool(auth.tokens),
            },
            status=401,
        )
    response = RedirectResponse(next_url, status_code=303)
    board.sessions.issue(response, principal, secure=request.url.scheme == "https")
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    """Sign out."""
    fields = await forms.form(request)
    board = dashboard(request)
    check_same_origin(request, settings(request).trusted_origins)
    board.sessions.check_csrf(board.sessions.read(request), forms.one(fields, "csrf"))
    response = RedirectResponse("/login" if settings(request).configured else "/", status_code=303)
    board.sessions.end(response)
    return response


@router.post("/tasks/{task_id}/retry", response_model=None)
async def retry(request: Request, task_id: UUID) -> Response:
    """Retry a failed or cancelled task, optionally with an edited payload."""
    fields = await forms.form(request)
    who = await acting(request, fields)
    text = forms.one(fields, "payload")
    payload: Any = None
    if text:
        try:
            payload = json.loads(text)
        except ValueError as exc:
            return await _payload_problem(request, who, task_id, text, f"not valid JSON: {exc}")
    try:
        retried = await ops(request).retry(task_id, actor=who.principal.name, payload=payload)
    except TaskValidationError as exc:
        return await _payload_problem(request, who, task_id, text, str(exc))
    except EverTaskError as exc:
        return _back(request, fields, f"error:{exc}")
    dashboard(request).aggregates.drop()
    dashboard(request).hub.touch(retried, "retried", actor=who.principal.name)
    note = "Retried with the edited payload." if payload is not None else "Retried: the task is back in its queue."
    return _back(request, fields, f"ok:{note}")


async def _payload_problem(request: Request, who: Visitor, task_id: UUID, text: str, problem: str) -> Response:
    task = await ops(request).get_task(task_id)
    return task_page(request, who, task, status=422, payload_text=text, payload_error=problem)


@router.post("/tasks/{task_id}/cancel", response_model=None)
async def cancel(request: Request, task_id: UUID) -> Response:
    """Cancel a task (a running one stops at its worker's next heartbeat)."""
    return await _act(
        request,
        lambda who: ops(request).cancel(task_id, actor=who.principal.name),
        "Cancelled.",
        touched="cancelled",
    )


@router.post("/queues/{name}/pause", response_model=None)
async def pause_queue(request: Request, name: str) -> Response:
    """Pause a queue for every worker."""
    return await _act(
        request, lambda who: ops(request).pause_queue(name, actor=who.principal.name), f"Queue {name} paused."
    )


@router.post("/queues/{name}/resume", response_model=None)
async def resume_queue(request: Request, name: str) -> Response:
    """Resume a paused queue."""
    return await _act(
        request, lambda who: ops(request).resume_queue(name, actor=who.principal.name), f"Queue {name} resumed."
    )


@router.post("/recurring/{series_id}/run", response_model=None)
async def run_now(request: Request, series_id: UUID) -> Response:
    """Run a series' task once now."""
    started: list[UUID] = []

    async def run(who: Visitor) -> None:
        started.append((await ops(request).run_now(series_id)).task_id)

    return await _act(request, run, lambda: f"Started a run now: task {started[0]}.")


@router.post("/recurring/{series_id}/pause", response_model=None)
async def pause_series(request: Request, series_id: UUID) -> Response:
    """Hold a series."""
    return await _act(request, lambda who: ops(request).pause_series(series_id), "Series paused.", touched="paused")


@router.post("/recurring/{series_id}/resume", response_model=None)
async def resume_series(request: Request, series_id: UUID) -> Response:
    """Continue a paused series."""
    return await _act(request, lambda who: ops(request).resume_series(series_id), "Series resumed.", touched="resumed")


@router.post("/bulk/preview", response_class=HTMLResponse, response_model=None)
async def bulk_preview(request: Request) -> Response:
    """How many tasks a bulk retry or cancel would change (a dry run), and a button to do it."""
    fields = await forms.form(request)
    who = await acting(request, fields)
    action, selection, query = _bulk(fields)
    if action is None or selection is None:
        return _back(request, fields, "error:Choose tasks first: tick rows, or “all matching this filter”.")
    service = ops(request)
    try:
        result = await (service.retry_matching if action == "retry" else service.cancel_matching)(
            selection, actor=who.principal.name, dry_run=True
        )
    except EverTaskError as exc:
        return _back(request, fields, f"error:{exc}")
    return render(
        request,
        who,
        "confirm.html",
        page="tasks",
        action=action,
        count=result.count,
        described=forms.describe(selection),
        ids=[str(task_id) for task_id in selection.id or ()],
        everything=forms.one(fields, "all") == "1",
        query=query,
    )


@router.post("/bulk/apply", response_model=None)
async def bulk_apply(request: Request) -> Response:
    """Retry or cancel the tasks a confirmed preview counted."""
    fields = await forms.form(request)
    who = await acting(request, fields)
    action, selection, query = _bulk(fields)
    back = f"/tasks?{query}" if query else "/tasks"
    if action is None or selection is None:
        return _redirect(back, "error:Nothing was chosen, so nothing changed.")
    service = ops(request)
    try:
        result = await (service.retry_matching if action == "retry" else service.cancel_matching)(
            selection, actor=who.principal.name
        )
    except EverTaskError as exc:
        return _redirect(back, f"error:{exc}")
    dashboard(request).aggregates.drop()
    verb = "Retried" if action == "retry" else "Cancelled"
    noun = "task" if result.count == 1 else "tasks"
    return _redirect(back, f"ok:{verb} {result.count} {noun}.")


def _bulk(fields: dict[str, list[str]]) -> tuple[str | None, Filter | None, str]:
    """The action, the tasks it applies to (the ticked rows, or all matching the list's filter) and the
    list's query, from a bulk form."""
    action = forms.one(fields, "action")
    query = forms.one(fields, "filter")
    if action not in ("retry", "cancel"):
        raise InvalidFilterError(f"a bulk action is retry or cancel, not {action!r}")
    if forms.one(fields, "all") == "1":
        selection = forms.selection(forms.parse_query(query), now=utc_now())
        return action, None if selection.is_empty() else selection, query
    try:
        ids = [UUID(value) for value in fields.get("id", [])]
    except ValueError:
        raise InvalidFilterError("a selected row is not a task id") from None
    return action, Filter(id=ids) if ids else None, query


async def _act(
    request: Request,
    call: Callable[[Visitor], Awaitable[Any]],
    note: str | Callable[[], str],
    *,
    touched: str | None = None,
) -> Response:
    """Run an action; ``touched``: the kind of live event to tell the pages about the task it returns."""
    fields = await forms.form(request)
    who = await acting(request, fields)
    try:
        result = await call(who)
    except AuthError:
        raise
    except EverTaskError as exc:
        return _back(request, fields, f"error:{exc}")
    dashboard(request).aggregates.drop()
    if touched is not None:
        dashboard(request).hub.touch(result, touched, actor=who.principal.name)
    return _back(request, fields, f"ok:{note if isinstance(note, str) else note()}")


def _back(request: Request, fields: dict[str, list[str]], flash: str) -> Response:
    target = _safe_next(forms.one(fields, "back") or request.headers.get("hx-current-url-path"))
    return _redirect(target, flash)


def _redirect(target: str, flash: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(FLASH_COOKIE, quote(flash[:300]), max_age=30, httponly=True, samesite="strict", path="/")
    return response

"""Sign-in sessions and CSRF tokens: what the cookie proves and what a form must carry."""

from __future__ import annotations

import time

import pytest
from fastapi import Response
from starlette.requests import Request

from evertask.web.auth import ForbiddenError, Principal
from evertask.web.dashboard import session as session_module
from evertask.web.dashboard.session import COOKIE, Sessions

ALICE = Principal("alice", "operator")


def cookie_of(response: Response) -> str:
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    return header.split(";", 1)[0].split("=", 1)[1]


def request_with(value: str | None) -> Request:
    headers = [] if value is None else [(b"cookie", f"{COOKIE}={value}".encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""})


def test_a_signed_session_is_read_back() -> None:
    sessions = Sessions("a secret of the deployment")
    response = Response()
    issued = sessions.issue(response, ALICE, secure=False)

    found = sessions.read(request_with(cookie_of(response)))

    assert found == issued
    assert found is not None
    assert found.principal == ALICE


def test_a_tampered_or_foreign_cookie_is_no_session() -> None:
    sessions = Sessions("a secret of the deployment")
    response = Response()
    sessions.issue(response, Principal("victor", "viewer"), secure=False)
    value = cookie_of(response)
    body, _, signature = value.partition(".")
    forged_body = session_module._b64(session_module._unb64(body).replace(b"viewer", b"operator"))

    assert sessions.read(request_with(f"{forged_body}.{signature}")) is None
    assert Sessions("another deployment").read(request_with(value)) is None
    assert sessions.read(request_with("garbage")) is None
    assert sessions.read(request_with(None)) is None


def test_an_expired_session_is_no_session(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = Sessions("a secret of the deployment")
    response = Response()
    sessions.issue(response, ALICE, secure=False)
    later = time.time() + session_module.LIFETIME + 1
    monkeypatch.setattr(session_module.time, "time", lambda: later)

    assert sessions.read(request_with(cookie_of(response))) is None


def test_without_a_secret_sessions_end_with_the_process() -> None:
    response = Response()
    Sessions(None).issue(response, ALICE, secure=False)

    assert Sessions(None).read(request_with(cookie_of(response))) is None


def test_a_form_needs_the_csrf_token_of_its_session() -> None:
    sessions = Sessions("a secret of the deployment")
    response = Response()
    mine = sessions.issue(response, ALICE, secure=False)
    other = sessions.issue(Response(), ALICE, secure=False)

    sessions.check_csrf(mine, sessions.csrf_token(mine))
    for presented in (None, "", sessions.csrf_token(other), sessions.csrf_token(None)):
        with pytest.raises(ForbiddenError, match="CSRF"):
            sessions.check_csrf(mine, presented)

"""The dashboard's sign-in session and its CSRF tokens.

A session is a signed cookie (HMAC-SHA256 over the principal, an expiry and a random id), HttpOnly and
SameSite=Strict, so no script reads it and no other site's page sends it. Every form carries a CSRF token
derived from the session's id (or, on an open loopback dashboard, from the process's key), checked on every
write with the same-origin check of :mod:`evertask.web.auth`. The signing key is ``EVERTASK_WEB_SECRET`` when
set (sessions then outlive a restart and are shared by several servers), otherwise random per process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response

from evertask.web.auth import ForbiddenError, Principal

COOKIE = "evertask_session"
SECRET_ENV = "EVERTASK_WEB_SECRET"
"""The environment variable holding the key that signs sessions (any text of 32 characters or more)."""
LIFETIME = 12 * 3600
"""Seconds a sign-in lasts."""
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_OPEN = "open"  # the CSRF subject of a dashboard without credentials


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in principal and the id its CSRF token derives from."""

    principal: Principal
    id: str
    expires: int


class Sessions:
    """Issues and reads session cookies and CSRF tokens under one key."""

    def __init__(self, secret: str | bytes | None = None) -> None:
        configured = secret if secret is not None else os.environ.get(SECRET_ENV)
        if isinstance(configured, str):
            configured = configured.encode()
        # A configured secret of any length becomes a 32-byte key; without one, sessions end with the process.
        self._key = (
            hashlib.sha256(b"evertask-session:" + configured).digest() if configured else secrets.token_bytes(32)
        )

    def issue(self, response: Response, principal: Principal, *, secure: bool) -> Session:
        """Sign ``principal`` in: set the session cookie on ``response``."""
        session = Session(principal, secrets.token_urlsafe(16), int(time.time()) + LIFETIME)
        body = json.dumps(
            {"n": principal.name, "r": principal.role, "i": session.id, "x": session.expires}, separators=(",", ":")
        ).encode()
        value = f"{_b64(body)}.{_b64(self._sign(body))}"
        response.set_cookie(COOKIE, value, max_age=LIFETIME, httponly=True, samesite="strict", secure=secure, path="/")
        return session

    def read(self, request: Request) -> Session | None:
        """The session the request's cookie holds, if it is signed by this key and not expired."""
        value = request.cookies.get(COOKIE)
        if not value or "." not in value:
            return None
        body_text, _, signature = value.partition(".")
        try:
            body = _unb64(body_text)
            if not hmac.compare_digest(self._sign(body), _unb64(signature)):
                return None
            data = json.loads(body)
            if data["r"] not in ("viewer", "operator") or int(data["x"]) < time.time():
                return None
            return Session(Principal(str(data["n"]), data["r"]), str(data["i"]), int(data["x"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None

    @staticmethod
    def end(response: Response) -> None:
        """Sign out: drop the cookie."""
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")

    def csrf_token(self, session: Session | None) -> str:
        """The token every form of ``session`` (None: the open dashboard) carries."""
        subject = _OPEN if session is None else session.id
        return _b64(hmac.new(self._key, f"csrf:{subject}".encode(), hashlib.sha256).digest())

    def check_csrf(self, session: Session | None, presented: str | None) -> None:
        """Refuse a write whose form (or ``X-CSRF-Token`` header) lacks the session's token."""
        if not presented or not hmac.compare_digest(presented.encode(), self.csrf_token(session).encode()):
            raise ForbiddenError("the form's CSRF token is missing or stale: reload the page and try again")

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

"""Who may use the API, and how a request proves it.

- With no credentials configured the API is open, to loopback only: a request must come from a loopback address
  and name a loopback host (which also defeats DNS rebinding), and ``evertask web`` refuses to listen anywhere
  else. This is the local developer's case; there is never a default password.
- Otherwise every request needs a principal: an API token in ``Authorization: Bearer <token>`` (scripts), or
  what the ``authenticate`` callable returns for it (the host application's session, or the dashboard's, whose
  login form takes a token or the name and password of a configured :class:`WebUser`).
  A ``viewer`` reads; an ``operator`` also acts.
- A browser write must come from the API's own origin (``Sec-Fetch-Site`` / ``Origin``), so a page elsewhere
  cannot make a visitor's browser act; a script sends neither header and is judged by its token alone.

Secrets never leave this module: tokens are compared in constant time and appear in no repr, message or log.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import ipaddress
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from fastapi import Request

from evertask.errors import ConfigurationError, EverTaskError

Role = Literal["viewer", "operator"]
MIN_TOKEN_LENGTH = 16
TOKEN_ENV = "EVERTASK_WEB_TOKEN"
"""The environment variable holding the operator token of ``evertask web``."""
VIEWER_TOKEN_ENV = "EVERTASK_WEB_VIEWER_TOKEN"
"""The environment variable holding the viewer token of ``evertask web``."""
USERS_ENV = "EVERTASK_WEB_USERS"
"""The environment variable holding the dashboard's users: ``name:role:password`` entries separated by ``;``."""
MIN_PASSWORD_LENGTH = 12
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME_SITE = frozenset({"same-origin", "none"})  # "none": the user typed the address or opened a bookmark


class AuthError(EverTaskError):
    """A request was refused: ``status`` is 401 (no valid credentials) or 403 (not allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationRequiredError(AuthError):
    """The request carries no valid credentials."""

    def __init__(self, message: str = "this API needs credentials: send Authorization: Bearer <token>") -> None:
        super().__init__(401, message)


class ForbiddenError(AuthError):
    """The request's principal may not do this (a viewer acting), or the request comes from elsewhere."""

    def __init__(self, message: str) -> None:
        super().__init__(403, message)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes a request: ``name`` is recorded as the actor of the actions they take."""

    name: str
    role: Role

    @property
    def can_act(self) -> bool:
        """Whether this principal may retry, cancel, pause, purge (operators only)."""
        return self.role == "operator"


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token and the principal it stands for (``name`` defaults to the role)."""

    secret: str = field(repr=False)
    role: Role = "operator"
    name: str | None = None

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"an API token needs at least {MIN_TOKEN_LENGTH} characters; make one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if self.role not in ("viewer", "operator"):
            raise ConfigurationError(f"a token's role is viewer or operator, not {self.role!r}")

    @property
    def principal(self) -> Principal:
        """The principal a request bearing this token acts as."""
        return Principal(self.name or self.role, self.role)


@dataclass(frozen=True, slots=True)
class WebUser:
    """A person who signs in to the dashboard with a name and a password; ``name`` is recorded as the actor of
    what they do."""

    name: str
    password: str = field(repr=False)
    role: Role = "operator"

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 200 or ":" in self.name or ";" in self.name:
            raise ConfigurationError("a user name has 1 to 200 characters, neither ':' nor ';'")
        if len(self.password) < MIN_PASSWORD_LENGTH:
            raise ConfigurationError(f"user {self.name!r}: a password needs at least {MIN_PASSWORD_LENGTH} characters")
        if self.role not in ("viewer", "operator"):
            raise ConfigurationError(f"user {self.name!r}: a role is viewer or operator, not {self.role!r}")

    @property
    def principal(self) -> Principal:
        """The principal this user acts as."""
        return Principal(self.name, self.role)

    @classmethod
    def parse_many(cls, text: str) -> list[WebUser]:
        """Users from ``name:role:password`` entries separated by ``;`` (the password may hold ``:``)."""
        users = []
        for entry in filter(None, (part.strip() for part in text.split(";"))):
            name, _, rest = entry.partition(":")
            role, _, password = rest.partition(":")
            if not password:
                raise ConfigurationError(f"a user entry is name:role:password, not {name!r}:...")
            users.append(cls(name, password, role))  # type: ignore[arg-type]  # checked in __post_init__
        return users


Authenticate = Callable[[Request], Principal | Awaitable[Principal | None] | None]
"""A callable (sync or async) given the request, returning its principal, or None when it has none."""


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """How requests are authenticated. Nothing configured: open to loopback only.

    ``authenticate`` is given each request that no API token matches and returns its :class:`Principal`, or
    None (the host application's session or single sign-on, the dashboard's login). ``trusted_origins``
    (``https://ops.example.com``) are origins besides the API's own whose browser writes are accepted, for a
    proxy that rewrites the Host header.
    """

    tokens: Sequence[ApiToken] = ()
    authenticate: Authenticate | None = None
    trusted_origins: Sequence[str] = ()
    users: Sequence[WebUser] = ()

    @property
    def configured(self) -> bool:
        """Whether any credentials are configured (if not, the API is open to loopback only)."""
        return bool(self.tokens) or bool(self.users) or self.authenticate is not None

    def sign_in(
        self, *, token: str | None = None, name: str | None = None, password: str | None = None
    ) -> Principal | None:
        """The principal of a dashboard sign-in with a token, or with a user's name and password; None if they
        match no configured credentials (every candidate is compared, in constant time)."""
        if token:
            found = _matching(self.tokens, token)
            return None if found is None else found.principal
        if not name or not password:
            return None
        match = None
        given = hashlib.sha256(password.encode()).digest()
        for user in self.users:
            same_password = hmac.compare_digest(hashlib.sha256(user.password.encode()).digest(), given)
            if hmac.compare_digest(user.name.encode(), name.encode()) and same_password:
                match = user
        return None if match is None else match.principal

    @classmethod
    def from_tokens(
        cls,
        operator: str | None = None,
        viewer: str | None = None,
        *,
        users: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> AuthSettings:
        """Settings from an operator and a viewer token and the dashboard's users (``name:role:password``
        entries separated by ``;``), each falling back to its environment variable (``EVERTASK_WEB_TOKEN``,
        ``EVERTASK_WEB_VIEWER_TOKEN``, ``EVERTASK_WEB_USERS``)."""
        env = os.environ if environ is None else environ
        operator = operator or env.get(TOKEN_ENV) or None
        viewer = viewer or env.get(VIEWER_TOKEN_ENV) or None
        tokens = [ApiToken(operator, "operator")] if operator else []
        if viewer:
            tokens.append(ApiToken(viewer, "viewer"))
        return cls(tokens=tokens, users=WebUser.parse_many(users or env.get(USERS_ENV) or ""))


LOCAL = Principal("local", "operator")
"""The principal of an open API: the developer on this machine."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name, brackets allowed) is this machine's loopback."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


async def authenticate(request: Request, settings: AuthSettings) -> Principal:
    """The principal of ``request`` under ``settings``; :class:`AuthError` (401 or 403) if there is none."""
    if not settings.configured:
        client = request.client.host if request.client is not None else ""
        host = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
        if not (is_loopback(client) and is_loopback(host)):
            raise ForbiddenError(
                "this API has no credentials configured, so it answers loopback requests only; "
                "configure an API token to serve it elsewhere"
            )
        return LOCAL
    presented = _bearer(request)
    if presented is not None:
        found = _matching(settings.tokens, presented)
        if found is not None:
            return found.principal
    if settings.authenticate is not None:
        answer = settings.authenticate(request)
        principal = await answer if inspect.isawaitable(answer) else answer
        if principal is not None:
            return principal
    elif presented is not None:
        raise AuthenticationRequiredError("the token is not valid")
    raise AuthenticationRequiredError()


def check_same_origin(request: Request, trusted: Sequence[str]) -> None:
    """Refuse a write a browser sends from another site: ``Sec-Fetch-Site`` must say same-origin, and an
    ``Origin`` must be the API's own (or trusted). Requests without either header are not from a browser."""
    if request.method in _SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in _SAME_SITE:
        raise ForbiddenError(f"a browser write must come from this site's own pages (Sec-Fetch-Site: {site})")
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = request.headers.get("host", "").lower()
    if origin.rstrip("/") in {item.rstrip("/") for item in trusted}:
        return
    if origin == "null" or urlsplit(origin).netloc.lower() != own:
        raise ForbiddenError("a browser write must come from this site's own pages (Origin differs)")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else ""


def _matching(tokens: Sequence[ApiToken], presented: str) -> ApiToken | None:
    # Every token is compared, in constant time, so timing tells nothing about which one almost matched.
    found = None
    for token in tokens:
        if hmac.compare_digest(token.secret.encode(), presented.encode()):
            found = token
    return found

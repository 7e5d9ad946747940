"""Storage URLs: which backend a URL names, whether the extra it runs on is installed, and the storage it opens.

Nothing here imports SQLAlchemy, so a core install (no extra) still reads a URL and says what is wrong with it
(:class:`~evertask.errors.InvalidStorageUrlError`, with the accepted forms) or which extra to install
(:class:`~evertask.errors.MissingExtraError`) before any SQL module is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evertask._extras import require, require_installed
from evertask.errors import ConfigurationError, InvalidStorageUrlError
from evertask.limits import DEFAULT_MAX_PAYLOAD_BYTES
from evertask.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from evertask.storage.base import AuditLevel, Storage

DEFAULT_POOL_SIZE = 10
"""Connections a server storage keeps open unless told otherwise."""


@dataclass(frozen=True, slots=True)
class Backend:
    """A backend a URL can name: what it is called in messages, the extras that install it, the packages it
    always imports, and its default driver's package (needed only when the URL names no other driver).
    ``installed``: packages that must be there but are imported only on some paths (alembic: when a schema
    needs migrating), so that checking for them costs no import."""

    title: str
    extras: tuple[str, ...]
    modules: tuple[str, ...]
    driver: str | None = None
    installed: tuple[str, ...] = ()


_SQL = ("sqlalchemy",)
SQL = Backend("SQL", ("sqlite", "postgres", "mysql"), _SQL, installed=("alembic",))
"""Any SQL backend: SQLAlchemy and alembic, which each SQL extra installs."""
BACKENDS = {
    "memory": Backend("memory", (), ()),
    # SQLite: the standard sqlite3 module, whatever driver the URL names.
    "sqlite": Backend("SQLite", ("sqlite",), _SQL, installed=SQL.installed),
    # psycopg even under another driver: the LISTEN/NOTIFY wake-ups run on it.
    "postgresql": Backend("PostgreSQL", ("postgres",), (*_SQL, "psycopg"), installed=SQL.installed),
    "mysql": Backend("MySQL", ("mysql",), _SQL, driver="asyncmy", installed=SQL.installed),
    "mariadb": Backend("MariaDB", ("mysql",), _SQL, driver="asyncmy", installed=SQL.installed),
    "mssql": Backend("SQL Server", SQL.extras, _SQL, installed=SQL.installed),
}
_ALIASES = {"postgres": "postgresql"}
_URL = re.compile(r"(?P<backend>[A-Za-z][A-Za-z0-9.-]*)(?:\+(?P<driver>[A-Za-z0-9_.-]*))?://(?P<rest>.*)", re.S)


def parse(url: str) -> tuple[str, str | None]:
    """The backend (``sqlite``, ``postgresql``, ...; ``postgres`` read as ``postgresql``) and the driver (None if
    not named) of ``url``. Raises :class:`InvalidStorageUrlError` for what is not a URL of a known backend, and
    for a SQLite URL without the third slash (``sqlite://tasks.db`` names a host, not a file)."""
    match = _URL.fullmatch(url)
    if match is None:
        raise InvalidStorageUrlError(url, _not_a_url(url))
    name = _ALIASES.get(match["backend"].lower(), match["backend"].lower())
    if name not in BACKENDS:
        raise InvalidStorageUrlError(url, f"evertask has no storage backend {match['backend']!r}")
    rest = match["rest"]
    if name == "sqlite" and rest and not rest.startswith("/"):
        raise InvalidStorageUrlError(url, f"a SQLite file takes three slashes: use {_sqlite_url(rest)!r}")
    if name == "memory" and rest:
        raise InvalidStorageUrlError(url, "memory:// takes nothing after it")
    return name, match["driver"] or None


def _not_a_url(url: str) -> str:
    if not url.strip():
        return "it is empty"
    if url.lower().startswith("sqlite:") or (":" not in url and "@" not in url):
        # A bare path, or sqlite: with too few slashes: the SQLite URL of that file is the likely intent.
        path = re.sub(r"^sqlite:(?://)?", "", url, flags=re.I)
        return f"it is not a URL; for a SQLite file use {_sqlite_url(path)!r}"
    return "it is not a URL (scheme://...)"


def _sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def require_backend(name: str | None, driver: str | None = None) -> None:
    """Raise :class:`MissingExtraError` naming the extra to install unless the packages backend ``name`` runs on
    (with ``driver``, None for evertask's default) are importable; ``name`` None: any SQL backend."""
    backend = SQL if name is None else BACKENDS.get(_ALIASES.get(name, name), SQL)
    modules = backend.modules
    if backend.driver is not None and driver in (None, backend.driver):
        modules += (backend.driver,)
    for module in modules:
        require(module, *backend.extras, needed_by=f"{backend.title} storage")
    for module in backend.installed:
        require_installed(module, *backend.extras, needed_by=f"{backend.title} storage")


def storage_from_url(
    url: str,
    *,
    schema: str | None = None,
    auto_migrate: bool = True,
    audit: AuditLevel = "full",
    pool_size: int = DEFAULT_POOL_SIZE,
    echo: bool = False,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> Storage:
    """The storage a URL names: ``memory://`` for :class:`MemoryStorage`, any SQL URL for ``SqlStorage``.

    Raises :class:`InvalidStorageUrlError` for a malformed URL and :class:`MissingExtraError` when the backend's
    extra is not installed, both before anything is opened."""
    name, driver = parse(url)
    if name == "memory":
        if schema is not None:
            raise ConfigurationError(f"memory storage has no schema (got schema={schema!r})")
        return MemoryStorage(audit=audit, max_payload_bytes=max_payload_bytes)
    require_backend(name, driver)
    from evertask.storage.sql.storage import SqlStorage

    return SqlStorage(
        url,
        schema=schema,
        auto_migrate=auto_migrate,
        audit=audit,
        pool_size=pool_size,
        echo=echo,
        max_payload_bytes=max_payload_bytes,
    )

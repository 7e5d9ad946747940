"""Optional dependencies: import one, or say which extra installs it.

evertask's core needs only pydantic and cronsim; each backend and tool lives behind an extra
(``pip install "evertask[sqlite]"``). Code that needs an extra's package imports it through :func:`require` at the
point where the feature is chosen (a storage URL is parsed, the command starts), never at module level of a module
the core imports, so a missing extra is a :class:`~evertask.errors.MissingExtraError` naming what to install, not a
raw ``ModuleNotFoundError`` from deep inside::

    from evertask._extras import require

    fastapi = require("fastapi", "web", needed_by="the web API")

Once ``require`` has succeeded, modules of that feature may import the package at their top as usual: they are only
imported after the check.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from evertask.errors import MissingExtraError


def require(module: str, extra: str, *alternatives: str, needed_by: str | None = None) -> ModuleType:
    """Import ``module`` and return it, or raise :class:`MissingExtraError` naming ``extra`` (and any
    ``alternatives``: other extras that install it too, e.g. each SQL backend's extra installs SQLAlchemy).

    ``needed_by`` names the feature in the message ("SQLite storage", "the evertask command"). A module that is
    installed but fails to import (a dependency or a shared library missing) is reported the same way, with its
    own error as the reason.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        # "No module named <module>" says nothing the message does not; anything else (a dependency of it, a
        # shared library) is the real cause and is shown.
        reason = None if exc.name == module else str(exc)
        raise MissingExtraError(module, (extra, *alternatives), needed_by=needed_by, reason=reason) from exc


def require_installed(module: str, extra: str, *alternatives: str, needed_by: str | None = None) -> None:
    """Raise :class:`MissingExtraError` as :func:`require` does unless ``module`` is installed, without importing
    it: for a package needed only on some paths (alembic, only when a schema needs migrating), so that checking
    for it costs no import."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(module, (extra, *alternatives), needed_by=needed_by)

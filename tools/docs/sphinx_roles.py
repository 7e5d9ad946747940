"""A griffe extension (mkdocs.yml) for the API reference: the Sphinx roles of evertask's docstrings as code.

The docstrings name other objects the Sphinx way (``:class:`~evertask.errors.TaskNotFoundError```,
``:meth:`start```), which Markdown would show as is. Each role becomes inline code of the name it shows: the
last component after ``~``, else the whole target.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):`(~?)([^`]+)`")


def _shown(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def plain(text: str) -> str:
    """``text`` with its Sphinx roles written as inline code."""
    return _ROLE.sub(_shown, text)


class SphinxRoles(Extension):
    """Rewrites each docstring's Sphinx roles as inline code when griffe loads the object."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)

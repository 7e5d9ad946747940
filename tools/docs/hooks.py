"""mkdocs hooks for the documentation site (mkdocs.yml's ``hooks``).

The navigation names every page the project has, some of which come from other lines of work (the Django and
operations pages): an entry whose page is not in docs/ yet is left out of the navigation instead of failing
the strict build, so that the site builds on any branch and lists each page once it exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _present(entry: Any, docs: Path) -> Any:
    """``entry`` without the pages missing from ``docs`` (None when nothing of it is left)."""
    if isinstance(entry, str):
        return entry if entry.startswith(("http://", "https://")) or (docs / entry).exists() else None
    if isinstance(entry, list):
        kept = [item for item in (_present(item, docs) for item in entry) if item is not None]
        return kept or None
    if isinstance(entry, dict):
        kept = {title: value for title, value in ((t, _present(v, docs)) for t, v in entry.items()) if value}
        return kept or None
    return entry


def on_config(config: Any) -> Any:
    """Drop the navigation entries whose page does not exist."""
    if config.nav is not None:
        config.nav = _present(config.nav, Path(config.docs_dir))
    return config

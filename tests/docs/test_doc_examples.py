"""Every ```python block marked `<!-- runnable -->` in the user guide runs as written, in a fresh process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = (
    "getting-started.md",
    "tasks-and-handlers.md",
    "dispatching.md",
    "retries-and-timeouts.md",
    "cancellation-and-continuations.md",
    "events-and-logging.md",
    "mediator.md",
    "recurring-tasks.md",
    "task-keys.md",
    "storage.md",
    "queues.md",
    "rate-limiting.md",
    "operations.md",
    "dashboard.md",
    "fastapi.md",
    "sync-client.md",
    "architecture.md",
)
MARKER = "<!-- runnable -->"
# The marker, then (after optional blank lines) a python block: the block's code is group 1.
RUNNABLE = re.compile(re.escape(MARKER) + r"\s*\n```python\n(.*?)^```", re.S | re.M)
# Pages that must have at least one runnable example (architecture is a picture, not a tutorial).
MUST_HAVE_EXAMPLES = tuple(page for page in PAGES if page != "architecture.md")


def runnable_blocks(page: str) -> list[str]:
    return RUNNABLE.findall((DOCS / page).read_text())


def block_line(page: str, code: str) -> int:
    """The line of the page where ``code`` starts, for readable test ids and failure messages."""
    text = (DOCS / page).read_text()
    return text[: text.index(code)].count("\n") + 1


EXAMPLES = [
    pytest.param(page, code, id=f"{page}:{block_line(page, code)}") for page in PAGES for code in runnable_blocks(page)
]


@pytest.mark.parametrize(("page", "code"), EXAMPLES)
def test_runnable_example_runs_as_written(tmp_path: Path, page: str, code: str) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    where = f"{page} line {block_line(page, code)}"
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("page", MUST_HAVE_EXAMPLES)
def test_each_guide_page_has_a_runnable_example(page: str) -> None:
    assert runnable_blocks(page), f"{page} has no block marked {MARKER}"


@pytest.mark.parametrize("page", PAGES)
def test_every_marker_is_followed_by_a_python_block(page: str) -> None:
    text = (DOCS / page).read_text()
    assert text.count(MARKER) == len(runnable_blocks(page)), f"{page}: a {MARKER} marker is not before a python block"

"""The README's quick start: its code, run as a user would, and what it must print.

Shared by ``tests/docs/test_readme.py`` (in the dev venv) and ``smoke_sqlite.py`` (in a venv with only the
``sqlite`` extra); plain Python, no pytest.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start() -> str:
    """The first python block of the README's "Quick start" section."""
    section = README.read_text().split("## Quick start", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    if code is None:
        raise AssertionError("the README's quick start has no python block")
    return code.group(1)


def run_quick_start(python: str = sys.executable) -> str:
    """Run the quick start with ``python`` in a fresh directory (it creates its database there) and return what
    it printed; raises ``AssertionError`` naming what is wrong when it fails or prints the wrong thing."""
    with tempfile.TemporaryDirectory(prefix="evertask-quickstart-") as directory:
        script = Path(directory) / "quickstart.py"
        script.write_text(quick_start())
        result = subprocess.run([python, str(script)], cwd=directory, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"the quick start failed (exit {result.returncode}):\n{result.stderr}")
    if "welcome mail to ann@example.com (attempt 1)" not in result.stdout or result.stdout.count("completed") != 2:
        raise AssertionError(f"the quick start printed something else:\n{result.stdout}")
    return result.stdout

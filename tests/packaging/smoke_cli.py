"""The cli extra alone: ``evertask --help`` lists the commands and ``evertask --version`` prints the version."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import evertask

EVERTASK = Path(sys.executable).parent / "evertask"


def run(*args: str) -> str:
    result = subprocess.run([EVERTASK, *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"evertask {' '.join(args)}: exit {result.returncode}\n{result.stderr}")
    return result.stdout


help_text = run("--help")
if "worker" not in help_text or "db" not in help_text:
    raise AssertionError(f"evertask --help does not list the commands:\n{help_text}")
version = run("--version")
if version.strip() != f"evertask {evertask.__version__}":
    raise AssertionError(f"evertask --version printed {version!r}")
print(version, end="")

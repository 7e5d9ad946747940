"""The README quick start, copied into a fresh file, runs as written."""

from __future__ import annotations

from tests.packaging.readme import run_quick_start


def test_readme_quick_start_runs_as_written() -> None:
    output = run_quick_start()
    assert "welcome mail to ann@example.com (attempt 1)" in output
    assert output.count("completed") == 2

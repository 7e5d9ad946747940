"""Every `$ evertask ...` command line in docs/operations.md is one the CLI accepts: its commands and options
exist (each is parsed with --help added, which stops before anything runs)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evertask.cli.app import cli

PAGE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
COMMAND = re.compile(r"^\$ evertask (.*)$", re.M)
COMMANDS = COMMAND.findall(PAGE.read_text())


def test_the_page_shows_commands() -> None:
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("line", COMMANDS)
def test_each_documented_command_parses(line: str) -> None:
    command = re.split(r" [|<>] ", line)[0]  # the evertask part of a pipeline or a redirection
    words = shlex.split(command)
    result = CliRunner().invoke(cli, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, f"evertask {line}:\n{result.output}"

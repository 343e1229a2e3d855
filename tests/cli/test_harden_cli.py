"""`cocusctl harden`: bad input and a missing Ansible fail before anything runs, with one line and the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app
from cocusctl.core.errors import ExitCode


def test_missing_inventory_is_bad_input(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["harden", "--inventory", str(tmp_path / "nope.yml")])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == f"error: inventory {tmp_path / 'nope.yml'} does not exist\n"


def test_empty_limit_is_bad_input(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("all: {}\n")
    result = runner.invoke(app, ["--output", "json", "harden", "-i", str(tmp_path / "hosts.yml"), "--limit", " "])
    assert result.exit_code == ExitCode.USAGE
    envelope = json.loads(result.stdout)
    assert (envelope["command"], envelope["status"], envelope["errors"][0]["message"]) == (
        "harden", "error", "--limit is empty")


def test_without_ansible_exits_not_available(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hosts.yml").write_text("all: {}\n")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = runner.invoke(app, ["harden", "-i", str(tmp_path / "hosts.yml")])
    assert result.exit_code == ExitCode.NOT_AVAILABLE
    assert result.stderr.splitlines() == [
        "error: 'ansible-playbook' was not found on PATH",
        "hint: pip install 'cocusctl[onprem]' (ansible-core)",
    ]

"""`cocusctl build` bad input: one line on stderr, exit 2, nothing built (no engine needed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app
from cocusctl.core.errors import ExitCode


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "cocus.yaml").write_text("service:\n  dockerfile: Dockerfile\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    "commit", "-q", "-m", "x"], check=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # long paths in the messages: keep each on one line
    # Point the engine at nothing: bad input must be rejected before any engine is contacted.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (["--tag", "bad tag"],
         "error: invalid tag 'bad tag': use up to 128 letters, digits, '_', '.', '-' (not starting with '.' or '-')\n"),
        (["--tag", "-x"],
         "error: invalid tag '-x': use up to 128 letters, digits, '_', '.', '-' (not starting with '.' or '-')\n"),
        (["--env", "prod"], "error: unknown environment 'prod' (configured: local)\n"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(runner: CliRunner, project: Path, args: list[str], stderr: str) -> None:
    result = runner.invoke(app, ["build", *args])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == stderr
    assert result.stdout == ""
    assert not (project / "build").exists()


def test_missing_dockerfile(runner: CliRunner, project: Path) -> None:
    (project / "Dockerfile").unlink()
    result = runner.invoke(app, ["build"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == f"error: service.dockerfile: {project / 'Dockerfile'} does not exist\n"


def test_outside_git_needs_a_tag(runner: CliRunner, project: Path) -> None:
    subprocess.run(["rm", "-rf", str(project / ".git")], check=True)
    result = runner.invoke(app, ["build"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        "error: not a git checkout with a commit, so there is no commit tag\nhint: pass --tag TAG\n"
    )


def test_engine_missing_is_not_available(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["build", "--output", "json"])
    assert result.exit_code == ExitCode.NOT_AVAILABLE
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "error" and envelope["command"] == "build"
    assert envelope["errors"][0]["code"] == "not_available"
    assert envelope["errors"][0]["message"] == f"Docker engine not reachable at unix://{project}/no-engine.sock"
    assert envelope["data"] is None  # checked before anything was built


def test_json_envelope_for_bad_input(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["build", "--tag", "a b", "--output", "json"])
    envelope = json.loads(result.stdout)
    assert envelope == {
        "version": 1, "command": "build", "status": "error", "exit_code": 2, "data": None,
        "errors": [{"code": "usage", "hint": None,
                    "message": "invalid tag 'a b': use up to 128 letters, digits, '_', '.', '-' "
                               "(not starting with '.' or '-')"}],
    }

"""`cocusctl plan` end to end with real terraform on the fixture module: exit codes 0/12/4/3, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

pytestmark = pytest.mark.terraform

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "fixtures" / "config" / "cocus.yaml"


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terraform_bin: str) -> Path:
    monkeypatch.setenv("COCUSCTL_OUTPUT_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path / "build"


def plan(runner: CliRunner, *extra: str):
    return runner.invoke(app, ["-c", str(EXAMPLE), "plan", "--env", "fixture", *extra])


def test_plan_with_changes_exits_12_and_prints_the_summary(runner: CliRunner, build: Path) -> None:
    result = plan(runner)
    assert result.exit_code == 12, result.output
    lines = [" ".join(line.strip("│ ").split()) for line in result.stdout.splitlines() if line.startswith("│")]
    assert lines == [
        "create │ terraform_data.ci_identity[0]",
        "create │ terraform_data.registry",
        "create │ terraform_data.runtime_sa",
        'create │ terraform_data.secret["cocus-rag-api-keys"]',
        "create │ terraform_data.service",
        "create │ terraform_data.service_release",
    ]
    assert "plan fixture: 6 to create" in result.stdout
    assert f"saved plan: {build / 'terraform' / 'fixture' / 'tfplan'}" in result.stdout
    assert "error: changes pending for fixture: 6 to create" in result.stderr
    assert "→ terraform plan" in result.stderr


def test_plan_json_then_no_changes_after_apply(runner: CliRunner, build: Path, terraform_bin: str) -> None:
    result = plan(runner, "-o", "json")
    envelope = json.loads(result.stdout)
    assert (result.exit_code, envelope["exit_code"], envelope["status"]) == (12, 12, "error")
    data = envelope["data"]
    assert data["counts"] == {"create": 6, "update": 0, "replace": 0, "delete": 0}
    assert data["has_changes"] is True and data["drift"] == []
    assert data["root_module"] == str(REPO / "tests" / "fixtures" / "terraform" / "cloudrun")

    from cocusctl.adapters.terraform import Terraform

    tf = Terraform(Path(data["root_module"]), data_dir=build / "terraform" / "fixture" / ".terraform",
                   binary=terraform_bin)
    tf.apply(Path(data["plan_file"]))

    clean = plan(runner, "-o", "json")
    assert clean.exit_code == 0, clean.output
    envelope = json.loads(clean.stdout)
    assert envelope["status"] == "ok" and envelope["data"]["has_changes"] is False
    human = plan(runner)
    assert human.exit_code == 0 and "plan fixture: no changes" in human.stdout
    # Without a terminal, terraform's own lines go only to the plan log, not into the output.
    assert "Refreshing state" not in human.stderr
    plan_log = build / "terraform" / "fixture" / "plan.log"
    assert "terraform_data.service: Refreshing state... [id=" in plan_log.read_text()
    # -v streams every line, as text: brackets included.
    verbose = runner.invoke(app, ["-v", "-c", str(EXAMPLE), "plan", "--env", "fixture"])
    assert verbose.exit_code == 0
    assert "terraform_data.service: Refreshing state... [id=" in verbose.stderr


def test_failing_plan_exits_4_with_terraforms_error(
    runner: CliRunner, build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COCUSCTL_ENVIRONMENTS__FIXTURE__PROJECT", "Not_A_Project")
    result = plan(runner)
    assert result.exit_code == 4
    assert "error: terraform plan failed (exit 1): Error: Invalid value for variable" in result.stderr
    assert "Traceback" not in result.output
    # The failing tool's tail and where its whole log is, without -v.
    plan_log = build / "terraform" / "fixture" / "plan.log"
    assert f"full log: {plan_log}" in result.stderr
    assert "│ " in result.stderr and "Invalid value for variable" in plan_log.read_text()


def test_no_terraform_on_path_exits_3_before_any_work(
    runner: CliRunner, build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = plan(runner)
    assert result.exit_code == 3
    assert "error: 'terraform' was not found on PATH" in result.stderr
    assert not (build / "render").exists(), "nothing rendered before the tool check"


def test_plan_refuses_an_environment_without_infrastructure(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plan"])
    assert result.exit_code == 2 and "has no infrastructure" in result.stderr

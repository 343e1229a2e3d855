"""`cocusctl config check`: every environment against the settings the service publishes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_config_keeps_the_contract(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--config", str(ROOT / "cocus.yaml"), "config", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("local, local-staging, local-prod, local-gke, staging, prod: every variable is one")


def test_problems_are_listed_per_environment_and_field(runner: CliRunner, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCUSCTL_ENVIRONMENTS__STAGING__REVISION__ENV__LOG_LEVEL", "debug")
    monkeypatch.setenv("COCUSCTL_ENVIRONMENTS__PROD__REVISION__ENV__PORT", "9000")
    result = runner.invoke(app, ["--config", str(ROOT / "cocus.yaml"), "config", "check", "-o", "json"])
    assert result.exit_code == 2
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "error" and envelope["errors"][0]["code"] == "config"
    assert [(p["environment"], p["field"]) for p in envelope["data"]["problems"]] == [
        ("staging", "revision.env.LOG_LEVEL"), ("prod", "revision.env.PORT")]
    assert result.stderr.startswith(
        "error: 2 setting(s) disagree with what the service reads: environment 'staging': revision.env.LOG_LEVEL: "
        "the service does not read LOG_LEVEL (did you mean COCUS_LOG_LEVEL?)")


def test_one_environment_with_env(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCUSCTL_ENVIRONMENTS__PROD__REVISION__ENV__PORT", "9000")
    ok = runner.invoke(app, ["--config", str(ROOT / "cocus.yaml"), "config", "check", "--env", "staging"])
    assert ok.exit_code == 0 and ok.stdout.startswith("staging: every variable")
    bad = runner.invoke(app, ["--config", str(ROOT / "cocus.yaml"), "config", "check", "--env", "prod"])
    assert bad.exit_code == 2 and "revision.env.PORT" in bad.stdout


def test_render_refuses_with_exit_2_and_writes_nothing(runner: CliRunner, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCUSCTL_ENVIRONMENTS__STAGING__REVISION__SECRETS", "{}")
    result = runner.invoke(app, ["--config", str(ROOT / "cocus.yaml"), "render", "--env", "staging", "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "error: environment 'staging': revision.secrets: COCUS_API_KEYS is required (the service refuses to start "
        "without it) unless COCUS_AUTH_DISABLED=true")
    assert not (tmp_path / "out").exists()


def test_a_service_without_a_contract(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "cocus.yaml").write_text("service: {settings_contract: none}\n")
    result = runner.invoke(app, ["--config", str(tmp_path / "cocus.yaml"), "config", "check"])
    assert result.exit_code == 0
    assert result.stdout == "the service publishes no settings contract (service.settings_contract: none); " \
                            "nothing checked\n"

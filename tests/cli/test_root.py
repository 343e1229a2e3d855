"""The root command: help, version, exit codes, config show/schema and the JSON envelope contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl import __version__
from cocusctl.cli import app
from cocusctl.core.errors import ExitCode

LIFECYCLE = ["build", "scan", "render", "plan", "deploy", "split-traffic", "promote", "rollback", "status"]


def test_help_lists_the_lifecycle_and_exit_codes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in [*LIFECYCLE, "doctor", "config", "emulator"]:
        assert f"\n  {command} " in result.output
    flat = " ".join(result.output.split())
    assert "Exit codes: 0 success" in flat and "7 the scan gate failed" in flat
    assert "[env var: COCUSCTL_CONFIG]" in flat


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"cocusctl {__version__}\n")


def test_config_schema_is_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config", "schema"])
    schema = json.loads(result.output)
    assert schema["title"] == "cocus.yaml" and "environments" in schema["properties"]


def test_config_show_exact_rows(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cocus.yaml").write_text("service:\n  size_budget_mb: 321\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COCUSCTL_SERVICE__IMAGE", "from-env")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    rows = [" ".join(line.strip("│ ").split()) for line in result.output.splitlines() if line.startswith("│")]
    assert "service.size_budget_mb │ 321 │ cocus.yaml" in rows
    assert 'service.image │ "from-env" │ env COCUSCTL_SERVICE__IMAGE' in rows
    assert 'service.name │ "cocus-rag" │ default' in rows


def test_config_show_json_envelope(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["config", "show", "--output", "json"])
    envelope = json.loads(result.stdout)
    assert envelope["version"] == 1 and envelope["status"] == "ok" and envelope["exit_code"] == 0
    assert envelope["command"] == "config show" and envelope["errors"] == []
    paths = {item["path"]: item for item in envelope["data"]["values"]}
    assert paths["registry.url"] == {"path": "registry.url", "value": "127.0.0.1:5000/cocus", "source": "default"}


def test_bad_config_is_one_line_usage_error(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cocus.yaml").write_text("servce: {}\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        "error: cocus.yaml: servce: unknown key (check the spelling; `cocusctl config schema` lists the keys)\n"
    )
    assert "Traceback" not in result.output


def test_failure_envelope_contract(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON envelope is emitted on failure too, with the same keys; scripts depend on this shape."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["config", "show", "--env", "nope", "-o", "json"])
    assert result.exit_code == ExitCode.USAGE
    envelope = json.loads(result.stdout)
    assert envelope == {
        "version": 1,
        "command": "config show",
        "status": "error",
        "exit_code": 2,
        "data": None,
        "errors": [{"code": "usage", "message": "unknown environment 'nope' (configured: local)", "hint": None}],
    }


def test_cli_import_pulls_no_heavy_sdk() -> None:
    """`import cocusctl.cli` (what --help costs) must not import cloud, container or template SDKs."""
    code = (
        "import sys, cocusctl.cli\n"
        "heavy = ['docker', 'google.cloud', 'google.auth', 'kubernetes', 'jinja2', 'httpx', 'pydantic', 'yaml',\n"
        "         'grafana_foundation_sdk']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""

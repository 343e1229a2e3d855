"""The repository's own cocus.yaml renders exactly the golden staging and prod Terraform inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_render_from_repository_config_matches_golden(runner: CliRunner, env: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--config", str(ROOT / "cocus.yaml"), "render", "--env", env, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    golden = ROOT / "tests" / "golden" / "render" / env
    rendered = {p.name: p.read_text() for p in tmp_path.iterdir()}
    expected = {p.name: p.read_text() for p in golden.iterdir()}
    assert rendered == expected

"""`cocusctl ci render`: writes, checks (exit 12 when stale) and refuses bad input with exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from cocusctl.cli import app

REPO = Path(__file__).resolve().parents[2]


def render(runner: CliRunner, config: Path, *extra: str):
    return runner.invoke(app, ["-c", str(config), "ci", "render", "--provider", "github", *extra])


def test_render_then_check_then_stale(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "cocus.yaml"
    shutil.copy(REPO / "cocus.yaml", config)
    first = render(runner, config)
    assert first.exit_code == 0, first.output
    assert "release: staging -> prod" in first.stdout
    written = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / ".github" / "workflows").iterdir())
    assert written == [".github/workflows/ci.yml", ".github/workflows/release.yml"]
    assert (tmp_path / ".github/workflows/ci.yml").read_text() == (REPO / ".github/workflows/ci.yml").read_text()

    assert render(runner, config, "--check").exit_code == 0
    ci = tmp_path / ".github/workflows/ci.yml"
    ci.write_text(ci.read_text().replace("timeout-minutes: 30", "timeout-minutes: 5"))
    stale = render(runner, config, "--check")
    assert stale.exit_code == 12
    assert "error: 1 workflow file(s) out of date: ci.yml" in stale.stderr
    assert "timeout-minutes: 5" in ci.read_text(), "--check must not write"


def test_out_folder_and_json_envelope(runner: CliRunner, tmp_path: Path) -> None:
    result = render(runner, REPO / "cocus.yaml", "--out", str(tmp_path), "-o", "json")
    assert result.exit_code == 0, result.output
    envelope = json.loads(result.stdout)
    assert (envelope["command"], envelope["status"]) == ("ci render", "ok")
    assert [f["status"] for f in envelope["data"]["files"]] == ["created", "created"]
    assert envelope["data"]["release"] == ["staging", "prod"]


def test_unknown_provider_and_bad_config_exit_2_and_write_nothing(runner: CliRunner, tmp_path: Path) -> None:
    bad = runner.invoke(app, ["-c", str(REPO / "cocus.yaml"), "ci", "render", "--provider", "gitlab",
                              "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "gitlab" in bad.output
    config = tmp_path / "cocus.yaml"
    config.write_text("version: 1\nci: {release: [prod]}\n")
    result = render(runner, config)
    assert result.exit_code == 2
    assert result.stderr.count("\n") <= 2 and "ci: unknown environment(s) prod" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / ".github").exists()

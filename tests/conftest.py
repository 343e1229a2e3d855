"""Fixtures naming the real programs a test needs.

Outside CI a missing program skips the test with the reason; under CI=true it FAILS, so a CI run can
never go green by skipping what it was meant to exercise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared test fixtures live beside the clone; COCUS_SHARED_DIR points elsewhere (e.g. a job run by act).
SHARED_DIR = Path(os.environ.get("COCUS_SHARED_DIR") or REPO_ROOT / ".." / "shared").resolve()
REGISTRY = os.environ.get("COCUS_TEST_REGISTRY", "127.0.0.1:5000")
BASE_IMAGE = os.environ.get("COCUS_BASE_IMAGE", "cocus/python-base:3.11-bookworm")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def need(ok: bool, reason: str) -> None:
    """Skip locally, fail under CI, when a required program or service is missing."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"required for CI but missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine():
    """A docker SDK client connected to a running engine."""
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        need(False, f"Docker engine not reachable ({type(exc).__name__}); run scripts/local-stack.sh up")
    return client


@pytest.fixture(scope="session")
def local_registry() -> str:
    """HOST:PORT of the local OCI registry (plain HTTP on loopback)."""
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5) as response:
            ok = response.status == 200
    except OSError:
        ok = False
    need(ok, f"no registry answering at http://{REGISTRY}/v2/; run scripts/local-stack.sh up")
    return REGISTRY


@pytest.fixture(scope="session")
def base_image(docker_engine) -> str:
    """The local Python base image (no public registry is reachable here)."""
    try:
        docker_engine.images.get(BASE_IMAGE)
        ok = True
    except Exception:  # noqa: BLE001
        ok = False
    need(ok, f"base image {BASE_IMAGE} missing; run scripts/local-stack.sh up")
    return BASE_IMAGE


def _program(name: str, version_args: list[str]) -> str:
    path = shutil.which(name)
    if path is not None:
        ok = subprocess.run([path, *version_args], capture_output=True, timeout=60).returncode == 0
    else:
        ok = False
    need(ok, f"'{name}' not found or not working; run scripts/local-stack.sh up")
    return path or name


@pytest.fixture(scope="session")
def trivy_bin() -> str:
    return _program("trivy", ["--version"])


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    return _program("terraform", ["version"])


@pytest.fixture(scope="session")
def redis_server_bin() -> str:
    return _program("redis-server", ["--version"])


@pytest.fixture(scope="session")
def ansible_playbook_bin() -> str:
    return _program("ansible-playbook", ["--version"])


@pytest.fixture(scope="session")
def molecule_bin() -> str:
    return _program("molecule", ["--version"])


@pytest.fixture(scope="session")
def ssh_client_bin() -> str:
    return _program("ssh", ["-V"])
def promtool_bin() -> str:
    return _program("promtool", ["--version"])


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return _program("prometheus", ["--version"])


@pytest.fixture(scope="session")
def alertmanager_bin() -> str:
    return _program("prometheus-alertmanager", ["--version"])


@pytest.fixture(scope="session")
def node_exporter_bin() -> str:
    return _program("prometheus-node-exporter", ["--version"])


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    need(SHARED_DIR.is_dir(), f"shared data folder {SHARED_DIR} missing (CI places ../shared beside the clone)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def trivy_fixtures(shared_dir: Path) -> Path:
    path = shared_dir / "fixtures" / "trivy"
    need(path.is_dir(), f"{path} missing")
    return path


@pytest.fixture(scope="session")
def service_image(docker_engine, local_registry, base_image, trivy_bin) -> dict:
    """The real service image, built, scanned and pushed once per session by `cocusctl build --env local`.

    Returns the build's JSON data (image, digest, pushed_ref, image_id, scan, reports, …). Slow when cold:
    the build installs the service's dependencies, distils its model and indexes its corpus.
    """
    import json
    import sys

    need((REPO_ROOT / "service" / "Dockerfile").is_file(), "service/Dockerfile missing")
    proc = subprocess.run(
        [sys.executable, "-m", "cocusctl", "build", "--env", "local", "--output", "json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=2400,
        env={**os.environ, "NO_COLOR": "1", "COCUSCTL_ENV": "local"},
    )
    try:
        envelope = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"cocusctl build printed no JSON (exit {proc.returncode}): {proc.stderr[-3000:]}")
    assert proc.returncode == 0, (envelope["errors"], proc.stderr[-3000:])
    return envelope["data"]

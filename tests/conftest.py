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

from cocusctl.core.ci import in_ci

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared test fixtures live beside the clone; COCUS_SHARED_DIR points elsewhere (e.g. a job run by act).
SHARED_DIR = Path(os.environ.get("COCUS_SHARED_DIR") or REPO_ROOT / ".." / "shared").resolve()
REGISTRY = os.environ.get("COCUS_TEST_REGISTRY", "127.0.0.1:5000")
BASE_IMAGE = os.environ.get("COCUS_BASE_IMAGE", "cocus/python-base:3.11-bookworm")


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
def helm_bin() -> str:
    return _program("helm", ["version"])


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


@pytest.fixture(scope="session")
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
def service_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output_dir of the session's service build: never the checkout's own build folder."""
    return tmp_path_factory.mktemp("service-build")


@pytest.fixture(scope="session")
def service_image(docker_engine, local_registry, base_image, trivy_bin, service_build_dir: Path) -> dict:
    """The real service image, built, scanned and pushed once per session by `cocusctl build --env local`.

    Returns the build's JSON data (image, digest, pushed_ref, image_id, scan, reports, …); its reports and
    last-build.json are in `service_build_dir`. Slow when cold: the build installs the service's
    dependencies, exports its model and embeds and indexes its corpus.
    """
    import json
    import sys

    need((REPO_ROOT / "service" / "Dockerfile").is_file(), "service/Dockerfile missing")
    proc = subprocess.run(
        [sys.executable, "-m", "cocusctl", "build", "--env", "local", "--output", "json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=2400,
        env={**os.environ, "NO_COLOR": "1", "COCUSCTL_ENV": "local", "COCUSCTL_OUTPUT_DIR": str(service_build_dir)},
    )
    try:
        envelope = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"cocusctl build printed no JSON (exit {proc.returncode}): {proc.stderr[-3000:]}")
    assert proc.returncode == 0, (envelope["errors"], proc.stderr[-3000:])
    return envelope["data"]


# --- tests never write into the checkout's own build folder --------------------------------------------
# A deploy from the checkout takes `build/cocus/last-build.json`; a test that overwrote it once made the
# next `deploy --env local-staging` roll out another environment's image. Every test writes to tmp paths;
# this check fails the session when any file under build/ was created, changed or removed while it ran.
CHECKOUT_BUILD_DIR = REPO_ROOT / "build"
_BUILD_SNAPSHOT = pytest.StashKey[dict[str, tuple[int, int]]]()


def _build_dir_snapshot() -> dict[str, tuple[int, int]]:
    files: dict[str, tuple[int, int]] = {}
    for path in CHECKOUT_BUILD_DIR.rglob("*") if CHECKOUT_BUILD_DIR.is_dir() else ():
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            files[str(path.relative_to(REPO_ROOT))] = (stat.st_mtime_ns, stat.st_size)
    return files


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BUILD_SNAPSHOT] = _build_dir_snapshot()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_BUILD_SNAPSHOT, None)
    if before is None:
        return
    after = _build_dir_snapshot()
    touched = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if touched:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "tests wrote into the checkout's build folder: " + ", ".join(touched[:10])
        if reporter is not None:
            reporter.write_line(f"FAILED {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def service_image_ref(request: pytest.FixtureRequest) -> str:
    """The real service image by digest: `COCUS_SERVICE_IMAGE` when set, else the session's build of it."""
    if os.environ.get("COCUS_SERVICE_IMAGE"):
        return os.environ["COCUS_SERVICE_IMAGE"]
    return request.getfixturevalue("service_image")["pushed_ref"]

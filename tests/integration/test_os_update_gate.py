"""The scan gate finds pending Debian security updates in real images, with no Trivy vulnerability DB."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

# An image whose zlib1g lags behind bookworm-security: the package as bookworm's main suite first shipped it.
STALE_DOCKERFILE = """\
FROM {base}
RUN apt-get update \\
 && apt-get install -y --allow-downgrades --no-install-recommends zlib1g=1:1.2.13.dfsg-1 \\
 && rm -rf /var/lib/apt/lists/*
USER 65534
"""
PROJECT = """\
version: 1
environments:
  local:
    registry: {url: 127.0.0.1:5000/cocus, insecure: true}
    scan: {allow_missing_vuln_db: true}
"""


@pytest.fixture(scope="module")
def stale_image(docker_engine, base_image: str) -> str:
    tag = "cocus-test/stale-zlib:1"
    dockerfile = STALE_DOCKERFILE.format(base=base_image).encode()
    docker_engine.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, network_mode="host", rm=True)
    yield tag
    docker_engine.images.remove(tag, force=True)


def scan(project: Path, image: str, *env: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    import os

    environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    environ.update(item.split("=", 1) for item in env)
    proc = subprocess.run(
        [sys.executable, "-m", "cocusctl", "-o", "json", "scan", image], cwd=project, env=environ,
        capture_output=True, text=True, timeout=600,
    )
    return proc, json.loads(proc.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "cocus.yaml").write_text(PROJECT)
    return tmp_path


@pytest.mark.docker
@pytest.mark.trivy
def test_a_stale_image_fails_the_gate_and_names_its_packages(project: Path, stale_image: str, trivy_bin) -> None:
    proc, envelope = scan(project, stale_image)
    assert proc.returncode == 7, proc.stderr
    assert envelope["errors"][0]["message"].startswith("scan gate failed: policy violated by")
    scan_data = envelope["data"]["scan"]
    failing = {f["package"]: f for f in scan_data["failing"] if f["kind"] == "os_update"}
    assert failing["zlib1g"]["installed_version"] == "1:1.2.13.dfsg-1"
    assert failing["zlib1g"]["id"] == "bookworm-security:zlib1g" and failing["zlib1g"]["severity"] == "UNKNOWN"
    assert scan_data["os_updates"]["checked"] is True and scan_data["os_updates"]["signature_verified"] is True
    assert any(line.startswith("OS packages: ") and "checked against bookworm-security" in line
               for line in scan_data["coverage"])
    sarif = json.loads(Path(envelope["data"]["reports"]["sarif"]).read_text())
    ours = [run for run in sarif["runs"] if run["tool"]["driver"]["name"] == "cocusctl-debian-security"]
    assert [r["ruleId"] for r in ours[0]["results"]] == [f"bookworm-security:{p}" for p in sorted(failing)]


@pytest.mark.docker
@pytest.mark.trivy
def test_a_warn_policy_passes_and_still_lists_them(project: Path, stale_image: str, trivy_bin) -> None:
    proc, envelope = scan(project, stale_image, "COCUSCTL_ENVIRONMENTS__LOCAL__SCAN__OS_UPDATES=warn")
    assert proc.returncode == 0, proc.stderr
    warnings = [f["package"] for f in envelope["data"]["scan"]["warnings"]]
    assert "zlib1g" in warnings and envelope["data"]["scan"]["failing"] == []


@pytest.mark.docker
@pytest.mark.trivy
def test_the_local_base_image_carries_every_security_update(project: Path, base_image: str, trivy_bin) -> None:
    proc, envelope = scan(project, base_image)
    os_check = envelope["data"]["scan"]["os_updates"]
    assert os_check["checked"] is True and os_check["pending"] == [], os_check
    assert os_check["packages"] > 50


@pytest.mark.docker
@pytest.mark.registry
@pytest.mark.trivy
def test_the_main_jobs_image_passes_with_no_pending_update(service_image: dict) -> None:
    scan_data = service_image["scan"]
    assert scan_data["verdict"] == "pass"
    assert scan_data["os_updates"]["checked"] is True and scan_data["os_updates"]["pending"] == []

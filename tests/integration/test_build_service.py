"""The real service image: the session's `cocusctl build --env local --output json` from the repository root.

Slow (a cold build installs the service's dependencies and embeds every chunk with its model); warm it is a minute.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.registry, pytest.mark.trivy]


def test_service_image_builds_scans_pushes_and_pulls_by_digest(
    docker_engine, local_registry, service_image: dict, service_build_dir: Path
) -> None:
    data = service_image

    # Pushed by digest, and the registry serves exactly that digest.
    assert data["pushed_ref"] == f"{data['image']}@{data['digest']}"
    assert data["image"] == f"{local_registry}/cocus/cocus-rag"
    pulled = docker_engine.images.pull(data["pushed_ref"])
    assert pulled.id == data["image_id"]

    # Non-root, for real: the container's uid.
    config = pulled.attrs["Config"]
    assert config["User"] not in ("", "root", "0", "0:0")
    uid = docker_engine.containers.run(data["pushed_ref"], ["id", "-u"], network_mode="host", remove=True)
    assert uid.decode().strip() not in ("", "0")
    assert config["Labels"]["org.opencontainers.image.revision"] == data["revision"]

    # Under budget; the scan ran and says plainly what it could not check.
    assert data["size_bytes"] <= data["size_budget_mb"] * 1_000_000
    scan = data["scan"]
    assert scan["verdict"] == "pass" and scan["vulnerabilities_checked"] is False
    assert scan["counts"]["secret"]["CRITICAL"] == 0

    reports = {k: Path(v) for k, v in data["reports"].items() if k != "dir"}
    for path in reports.values():
        assert path.is_file() and path.stat().st_size > 0
    sbom = json.loads(reports["sbom"].read_text())
    names = {c["name"].lower() for c in sbom["components"]}
    assert {"fastapi", "uvicorn", "numpy"} <= names
    last = json.loads((service_build_dir / "last-build.json").read_text())
    assert last["pushed_ref"] == data["pushed_ref"]

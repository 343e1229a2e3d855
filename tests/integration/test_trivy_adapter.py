"""The Trivy adapter with the real binary: missing vuln DB detection, offline scanning, conversions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocusctl.adapters.trivy import Trivy
from cocusctl.core.scan import VulnDbUnavailable, findings_from_report, load_report

pytestmark = pytest.mark.trivy


@pytest.fixture
def trivy(trivy_bin: str, tmp_path: Path) -> Trivy:
    """Trivy with an empty cache of its own: no vulnerability DB, whatever the machine has cached."""
    return Trivy(trivy_bin, cache_dir=tmp_path / "trivy-cache")


def test_version(trivy: Trivy) -> None:
    assert trivy.version()[0].isdigit()
    assert trivy.vuln_db_present() is False


@pytest.mark.docker
def test_missing_vuln_db_is_detected_precisely(trivy: Trivy, base_image: str, tmp_path: Path) -> None:
    with pytest.raises(VulnDbUnavailable) as caught:
        trivy.scan_image(base_image, tmp_path / "r.json", skip_db_update=True)
    assert caught.value.message == (
        "Trivy's vulnerability database is unavailable: no database in the cache and updates are disabled"
    )
    assert "--allow-missing-vuln-db" in (caught.value.hint or "")
    assert caught.value.exit_code == 3


@pytest.mark.docker
def test_secret_and_misconfig_scans_work_offline(trivy: Trivy, base_image: str, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    trivy.scan_image(base_image, report, scanners=("secret", "misconfig"))
    data = load_report(report)
    assert data["ArtifactName"] == base_image and data["ArtifactType"] == "container_image"
    assert data["Metadata"]["OS"]["Family"] == "debian"
    sbom = json.loads(trivy.convert(report, "cyclonedx", tmp_path / "sbom.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and len(sbom["components"]) > 50


def test_sarif_from_a_report_whose_target_has_a_registry_port(
    trivy: Trivy, trivy_fixtures: Path, tmp_path: Path
) -> None:
    """Trivy's SARIF writer crashes on `127.0.0.1:5000/...` targets; the adapter converts a safe copy."""
    report = json.loads((trivy_fixtures / "debian-buster.json").read_text())
    report["ArtifactName"] = "127.0.0.1:5000/cocus/app:abc"
    report["Results"][0]["Target"] = "127.0.0.1:5000/cocus/app:abc (debian 10.1)"
    source = tmp_path / "report.json"
    source.write_text(json.dumps(report))
    sarif = json.loads(trivy.convert(source, "sarif", tmp_path / "out.sarif").read_text())
    rule_ids = {result["ruleId"] for result in sarif["runs"][0]["results"]}
    assert rule_ids == {"CVE-2019-18224", "CVE-2019-18276"}
    assert json.loads(source.read_text()) == report  # the JSON report itself is untouched
    assert not (tmp_path / "out.sarif.input.json").exists()
    assert [f.id for f in findings_from_report(load_report(source))] == ["CVE-2019-18276", "CVE-2019-18224"]


@pytest.mark.docker
def test_unreadable_image_history_is_reported(
    trivy: Trivy, docker_engine, base_image: str, tmp_path: Path
) -> None:
    """Trivy logs a parse error and reports no misconfigurations for such an image: the adapter returns it."""
    import io

    dockerfile = f'FROM {base_image}\nLABEL description="words with spaces"\nUSER 10001\n'
    image, _ = docker_engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag="cocus-test/label:spaces",
                                          network_mode="host", rm=True)
    try:
        errors = trivy.scan_image("cocus-test/label:spaces", tmp_path / "r.json", scanners=("secret", "misconfig"))
        assert errors and "dockerfile parse error" in errors[0]
        assert trivy.scan_image(base_image, tmp_path / "b.json", scanners=("secret", "misconfig")) == []
    finally:
        docker_engine.images.remove(image.id, force=True)

"""Result models: the JSON contract of `cocusctl build` (read by deploy) and the doctor's requirements."""

from __future__ import annotations

from pathlib import Path

from cocusctl.core.build import BuildResult
from cocusctl.core.config import ScanPolicy, load_config
from cocusctl.core.doctor import Check, DoctorReport, needs_google_credentials
from cocusctl.core.image_scan import ReportPaths, ScanRun
from cocusctl.core.scan import evaluate


def test_build_result_json_contract() -> None:
    summary = evaluate([], ScanPolicy(), vulnerabilities_checked=False, allow_missing_vuln_db=True)
    digest = "sha256:" + "b" * 64
    result = BuildResult(
        environment="local", image="127.0.0.1:5000/cocus/cocus-rag", tags=["abc1234"],
        refs=["127.0.0.1:5000/cocus/cocus-rag:abc1234"], image_id="sha256:" + "a" * 64, size_bytes=123_456_789,
        size_mb=123.5, size_budget_mb=400, scan=summary, reports=ReportPaths(dir="build/cocus/build/abc1234"),
        pushed=True, digest=digest, pushed_ref=f"127.0.0.1:5000/cocus/cocus-rag@{digest}",
    )
    data = result.model_dump(mode="json")
    # Fields other commands and the deploy helper rely on.
    assert {"image", "tags", "pushed_ref", "digest", "image_id", "size_bytes", "scan", "reports"} <= set(data)
    assert data["pushed_ref"].endswith(f"@{digest}")
    assert data["scan"]["vulnerabilities_checked"] is False and data["scan"]["verdict"] == "pass"
    assert set(data["scan"]["counts"]) == {"vulnerability", "os_update", "secret", "misconfig"}
    assert BuildResult.model_validate(data) == result
    assert ScanRun(scan=summary).model_dump(mode="json")["reports"] is None


def write(tmp_path: Path, text: str):
    (tmp_path / "cocus.yaml").write_text(text)
    return load_config(tmp_path / "cocus.yaml")


def test_which_environments_need_google_credentials(tmp_path: Path) -> None:
    loaded = write(
        tmp_path,
        "environments:\n"
        "  local: {}\n"
        "  emulated: {project: acme, cloudrun: {api_endpoint: 'http://127.0.0.1:8123'}}\n"
        "  emulator: {project: acme, cloudrun: {api_endpoint: emulator}}\n"
        "  prod: {project: acme-prod, region: europe-west1}\n"
        "  gke: {target: gke, project: acme-prod}\n"
        "  ar_local_project:\n"
        "    registry: {url: europe-west1-docker.pkg.dev/acme/images}\n",
    )
    needs = {name: needs_google_credentials(loaded.environment(name)) for name in loaded.config.environments}
    assert needs == {"local": False, "emulated": False, "emulator": False, "prod": True, "gke": True,
                     "ar_local_project": True}


def test_doctor_report_ok_only_counts_required_rows() -> None:
    report = DoctorReport(environment="local", checks=[
        Check(name="a", ok=True, required=True, detail=""),
        Check(name="b", ok=False, required=False, detail="", fix="x"),
    ])
    assert report.ok
    report.checks.append(Check(name="c", ok=False, required=True, detail=""))
    assert not report.ok and [c.name for c in report.missing_required] == ["c"]

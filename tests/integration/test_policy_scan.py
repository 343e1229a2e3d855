"""Static checks of the GCP Terraform: `terraform fmt`, and a policy scan with `trivy config`.

Trivy runs with its embedded checks bundle (`--skip-check-update`: the bundle cannot be downloaded here).
The scan must report 0 failed HIGH/CRITICAL checks for the root modules with their defaults and with the
rendered staging/prod inputs; every `#trivy:ignore:` must carry a written reason.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cocusctl.core.config import load_config
from cocusctl.core.render import render_files

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
EXAMPLE = REPO / "tests" / "fixtures" / "config" / "cocus.yaml"
BLOCKING = {"HIGH", "CRITICAL"}


def trivy_config(trivy_bin: str, target: Path, cache: Path, tf_vars: Path | None = None) -> list[dict[str, Any]]:
    argv = [trivy_bin, "config", "--quiet", "--skip-check-update", "--cache-dir", str(cache), "--format", "json",
            "--include-non-failures"]
    if tf_vars is not None:
        argv += ["--tf-vars", str(tf_vars)]
    proc = subprocess.run([*argv, str(target)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [m for r in json.loads(proc.stdout).get("Results") or [] for m in r.get("Misconfigurations") or []]


def failures(results: list[dict[str, Any]], severities: set[str] = BLOCKING) -> list[str]:
    return [f"{m['ID']} {m['Severity']} {m['Title']} ({m.get('CauseMetadata', {}).get('Resource')})"
            for m in results if m["Status"] == "FAIL" and m["Severity"] in severities]


@pytest.mark.terraform
def test_terraform_code_is_formatted(terraform_bin: str) -> None:
    for folder in (TERRAFORM, REPO / "tests" / "fixtures" / "terraform"):
        proc = subprocess.run([terraform_bin, "fmt", "-check", "-recursive", str(folder)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"terraform fmt would change: {proc.stdout}"


@pytest.mark.terraform
def test_rendered_inputs_are_formatted(terraform_bin: str, tmp_path: Path) -> None:
    golden = sorted((REPO / "tests" / "golden" / "render").rglob("*"))
    files = [p for p in golden if p.suffix in (".tfvars", ".hcl")]  # helm-values.yaml is checked by helm
    assert len(files) >= 6
    for source in files:
        copy = tmp_path / f"{source.parent.name}-{source.stem}.tfvars"
        copy.write_text(source.read_text())
    proc = subprocess.run([terraform_bin, "fmt", "-check", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"rendered files not in terraform fmt style: {proc.stdout}"


@pytest.mark.trivy
def test_trivy_finds_nothing_high_or_critical_with_defaults(trivy_bin: str, tmp_path: Path) -> None:
    results = trivy_config(trivy_bin, TERRAFORM, tmp_path / "cache")
    passed = [m for m in results if m["Status"] == "PASS"]
    assert len(passed) >= 100, f"only {len(passed)} checks passed: did the embedded checks load?"
    assert failures(results) == []
    assert failures(results, {"MEDIUM", "LOW"}) == [], "also keep MEDIUM/LOW at zero"


@pytest.mark.trivy
@pytest.mark.parametrize(("env_name", "root"), [("staging", "cloudrun"), ("prod", "cloudrun"), ("prod-gke", "gke")])
def test_trivy_with_rendered_inputs(trivy_bin: str, tmp_path: Path, env_name: str, root: str) -> None:
    loaded = load_config(EXAMPLE, environ={}, flags={"output_dir": str(tmp_path)})
    tfvars = tmp_path / "terraform.tfvars"
    tfvars.write_text(render_files(loaded, loaded.environment(env_name))["terraform.tfvars"][1])
    results = trivy_config(trivy_bin, TERRAFORM / root, tmp_path / "cache", tfvars)
    assert [m for m in results if m["Status"] == "PASS"], "no checks ran"
    assert failures(results) == []


@pytest.mark.trivy
def test_the_scanner_can_fail(trivy_bin: str, tmp_path: Path) -> None:
    """The same scan flags a deliberately weak cluster, so a green result above means something."""
    (tmp_path / "main.tf").write_text(
        'resource "google_container_cluster" "weak" {\n  name = "weak"\n  location = "europe-west1"\n'
        '  enable_legacy_abac = true\n  enable_shielded_nodes = false\n}\n'
    )
    found = failures(trivy_config(trivy_bin, tmp_path, tmp_path / "cache"))
    assert any("GCP-0055" in f for f in found) and any("GCP-0062" in f for f in found), found


def test_every_policy_ignore_has_a_reason() -> None:
    ignores = []
    for file in TERRAFORM.rglob("*.tf"):
        for number, line in enumerate(file.read_text().splitlines(), 1):
            if match := re.search(r"#\s*(trivy:ignore|checkov:skip)[:=](\S+)(.*)", line):
                ignores.append((file.relative_to(REPO), number, match[2], match[3].strip()))
    for file, number, check, reason in ignores:
        assert len(reason) >= 20, f"{file}:{number}: ignore of {check} needs a written reason"


@pytest.mark.trivy
def test_ci_identity_module_passes_and_its_repository_condition_is_what_passes(trivy_bin: str, tmp_path: Path) -> None:
    """The WIF module scans clean; the same module without its attribute condition fails AVD-GCP-0068."""
    module = TERRAFORM / "modules" / "github_oidc"
    results = trivy_config(trivy_bin, module, tmp_path / "cache")
    assert failures(results, {"CRITICAL", "HIGH", "MEDIUM", "LOW"}) == []
    assert any(m["ID"].endswith("GCP-0068") and m["Status"] == "PASS" for m in results)

    weak = tmp_path / "weak"
    weak.mkdir()
    for source in module.glob("*.tf"):
        text = source.read_text()
        if source.name == "main.tf":
            text = re.sub(r"^\s*attribute_condition\s*=.*$", "", text, flags=re.MULTILINE)
        (weak / source.name).write_text(text)
    (tmp_path / "service_account").symlink_to(TERRAFORM / "modules" / "service_account")  # ../service_account
    found = failures(trivy_config(trivy_bin, weak, tmp_path / "cache"))
    assert any("GCP-0068" in f for f in found), found

"""The wheel works outside the checkout: built from the sources, installed into a fresh virtual environment,
it renders an environment's Terraform inputs from a folder that holds only a cocus.yaml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.slow]

SOURCES = ["pyproject.toml", "README.md", "cocusctl", "templates", "terraform", "observability", "ansible",
           "helm", "service/settings-schema.json"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".terraform*", "*.tfstate*")


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("COCUSCTL_")}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, env={**env, "NO_COLOR": "1"},
                          **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{argv}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built by pip from a copy of the sources (links kept as links, as in the checkout)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        source, target = REPO_ROOT / name, src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True, ignore=IGNORE)
        else:
            shutil.copy2(source, target)
    assert (src / "terraform" / "cloudrun" / "versions.tf").is_symlink()
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(dist),
         str(src)])
    (built,) = dist.glob("cocusctl-*.whl")
    return built


def test_the_wheel_holds_real_files_for_templates_modules_and_the_contract(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        entries = {info.filename: info for info in archive.infolist()}
        links = [name for name, info in entries.items() if (info.external_attr >> 16) & 0o170000 == 0o120000]
        assert links == []
        versions = archive.read("cocusctl/assets/terraform/cloudrun/versions.tf").decode()
        assert versions == (REPO_ROOT / "terraform" / "shared" / "versions.tf").read_text()
        assert archive.read("cocusctl/assets/contracts/cocus-rag.json") == (
            REPO_ROOT / "service" / "settings-schema.json").read_bytes()
        assert "cocusctl/assets/observability/slo.yaml" in entries
        assert "cocusctl/assets/terraform/modules/monitoring/observability/slo.yaml" in entries  # a linked folder
        templates = {n for n in entries if n.startswith("cocusctl/assets/templates/")}
        assert "cocusctl/assets/templates/terraform/cloudrun.tfvars.j2" in templates
        assert "cocusctl/assets/templates/helm/values.yaml.j2" in templates
        # The chart, with the rules and dashboards its observability link points at.
        assert "cocusctl/assets/helm/cocus-mvp/values.schema.json" in entries
        assert archive.read("cocusctl/assets/helm/cocus-mvp/files/observability/prometheus/cocus-rag.rules.yaml") == (
            REPO_ROOT / "observability" / "prometheus" / "cocus-rag.rules.yaml").read_bytes()
        assert {"cocusctl/assets/ansible/site.yml", "cocusctl/assets/ansible/ansible.cfg",
                "cocusctl/assets/ansible/roles/hardening/tasks/main.yml"} <= entries.keys()
        assert not any("__pycache__" in n or "/.terraform" in n for n in entries)


def test_installed_wheel_renders_from_a_folder_with_only_cocus_yaml(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "-c", str(REPO_ROOT / "constraints.txt"), f"{wheel}[infra]"])
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(REPO_ROOT / "cocus.yaml", project / "cocus.yaml")
    cocusctl = str(venv / "bin" / "cocusctl")

    where = run([str(venv / "bin" / "python"), "-c", "import cocusctl; print(cocusctl.__file__)"], cwd=project)
    assert where.stdout.startswith(str(venv)), where.stdout

    run([cocusctl, "render", "--env", "staging"], cwd=project)
    rendered = project / "build" / "cocus" / "render" / "staging"
    golden = REPO_ROOT / "tests" / "golden" / "render" / "staging"
    assert {p.name: p.read_text() for p in rendered.iterdir()} == {p.name: p.read_text() for p in golden.iterdir()}

    run([cocusctl, "render", "--env", "local-gke"], cwd=project)  # the GKE target's Helm values
    values = (project / "build" / "cocus" / "render" / "local-gke" / "helm-values.yaml").read_text()
    assert 'repository: "127.0.0.1:5000/local-gke/cocus-rag"' in values

    check = run([cocusctl, "config", "check", "--env", "staging"], cwd=project)
    assert "staging: every variable is one cocus-rag reads" in check.stdout
    assert sorted(p.name for p in project.iterdir()) == ["build", "cocus.yaml"]

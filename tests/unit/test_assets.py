"""What cocusctl ships besides code, and how Terraform gets its modules without writing into the package."""

from __future__ import annotations

from pathlib import Path

from cocusctl.core.assets import asset
from cocusctl.core.config import load_config
from cocusctl.core.infra import infra_paths, stage_modules

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "fixtures" / "config" / "cocus.yaml"


def test_assets_are_the_checkouts_templates_modules_and_service_schema() -> None:
    assert (asset("templates") / "terraform" / "cloudrun.tfvars.j2").is_file()
    assert (asset("terraform") / "modules" / "cloud_run_service" / "main.tf").is_file()
    published = (ROOT / "service" / "settings-schema.json").read_text()
    assert asset("contracts/cocus-rag.json").read_text() == published


def test_bundled_modules_are_staged_into_the_work_dir_with_links_resolved(tmp_path: Path) -> None:
    loaded = load_config(EXAMPLE, environ={}, flags={"output_dir": str(tmp_path)})
    paths = infra_paths(loaded, loaded.environment("staging"))
    assert paths.bundled and paths.root_module == tmp_path / "terraform" / "staging" / "modules" / "cloudrun"
    stage_modules(paths)
    versions = paths.root_module / "versions.tf"
    assert not versions.is_symlink() and versions.read_text() == (ROOT / "terraform/shared/versions.tf").read_text()
    assert (paths.root_module.parent / "modules" / "secrets" / "main.tf").is_file()

    # A later run keeps terraform's lock file and drops what the package no longer has.
    lock = paths.root_module / ".terraform.lock.hcl"
    lock.write_text("# provider hashes\n")
    (paths.root_module / "stale.tf").write_text("resource x y {}\n")
    stage_modules(paths)
    assert lock.read_text() == "# provider hashes\n" and not (paths.root_module / "stale.tf").exists()


def test_a_configured_root_module_is_used_where_it_is(tmp_path: Path) -> None:
    loaded = load_config(EXAMPLE, environ={}, flags={"output_dir": str(tmp_path)})
    paths = infra_paths(loaded, loaded.environment("fixture"))
    assert not paths.bundled and paths.root_module == (ROOT / "tests/fixtures/terraform/cloudrun").resolve()
    stage_modules(paths)
    assert not (tmp_path / "terraform" / "fixture" / "modules").exists()

"""The Terraform code, read as HCL: rendered inputs match the root modules, ownership and IAM rules hold."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from cocusctl.core.config import load_config
from cocusctl.core.render import render_files

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
EXAMPLE = REPO / "tests" / "fixtures" / "config" / "cocus.yaml"
ENV_BY_ROOT = {"cloudrun": ["staging", "prod", "fixture"], "gke": ["prod-gke", "fixture-gke"]}

# Fields of the Cloud Run service that `cocusctl deploy` owns (terraform/README.md, "Who owns what").
RELEASE_OWNED = {
    "template[0].containers[0].image",
    "template[0].revision",
    "template[0].labels",
    "template[0].annotations",
    "traffic",
    "client",
    "client_version",
}
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}


# Plain values: no comment keys, strings without their HCL quotes.
HCL_OPTIONS = SerializationOptions(with_comments=False, strip_string_quotes=True)


def unquote(label: str) -> str:
    return label.strip('"')


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=HCL_OPTIONS)


def load_dir(path: Path) -> dict[str, list[Any]]:
    """Every top-level block of the .tf files in one folder, merged by block type."""
    merged: dict[str, list[Any]] = {}
    for file in sorted(path.glob("*.tf")):
        for kind, blocks in parse(file).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def variables(path: Path) -> dict[str, dict[str, Any]]:
    return {unquote(name): body for block in load_dir(path).get("variable", []) for name, body in block.items()}


def resources(path: Path) -> list[tuple[str, str, dict[str, Any], Path]]:
    out = []
    for file in sorted(path.rglob("*.tf")):
        for block in parse(file).get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    out.append((unquote(rtype), unquote(name), body, file))
    return out


def rendered_tfvars(env_name: str, tmp_path: Path) -> dict[str, Any]:
    loaded = load_config(EXAMPLE, environ={}, flags={"output_dir": str(tmp_path)})
    text = render_files(loaded, loaded.environment(env_name))["terraform.tfvars"][1]
    target = tmp_path / f"{env_name}.tfvars"
    target.write_text(text)
    return parse(target)


@pytest.mark.parametrize(("root", "env_name"), [(r, e) for r, envs in ENV_BY_ROOT.items() for e in envs])
def test_rendered_variables_exist_and_required_ones_are_rendered(root: str, env_name: str, tmp_path: Path) -> None:
    declared = variables(TERRAFORM / root)
    rendered = rendered_tfvars(env_name, tmp_path)
    unknown = sorted(set(rendered) - set(declared))
    assert not unknown, f"{env_name}: rendered but not declared in terraform/{root}: {unknown}"
    required = {name for name, body in declared.items() if "default" not in body}
    missing = sorted(required - set(rendered))
    assert not missing, f"{env_name}: required by terraform/{root} but not rendered: {missing}"


@pytest.mark.parametrize("root", sorted(ENV_BY_ROOT))
def test_every_variable_is_typed_and_described(root: str) -> None:
    for name, body in variables(TERRAFORM / root).items():
        assert body.get("type"), f"{root}: variable {name} has no type"
        assert body.get("description"), f"{root}: variable {name} has no description"


def test_every_module_variable_is_typed_and_described() -> None:
    for module in sorted((TERRAFORM / "modules").iterdir()):
        for name, body in variables(module).items():
            assert body.get("type") and body.get("description"), f"{module.name}: variable {name}"


@pytest.mark.parametrize("root", sorted(ENV_BY_ROOT))
def test_fixture_modules_share_the_real_interface(root: str) -> None:
    fixture = REPO / "tests" / "fixtures" / "terraform" / root
    for name in ("variables.tf", "common_variables.tf"):
        assert (fixture / name).resolve() == (TERRAFORM / root / name).resolve()
    assert (fixture / "ci_identity.tf").resolve() == REPO / "tests" / "fixtures" / "terraform" / "shared" / "ci_identity.tf"
    assert (TERRAFORM / root / "common_variables.tf").resolve() == TERRAFORM / "shared" / "common_variables.tf"
    real_outputs = {unquote(k) for b in load_dir(TERRAFORM / root)["output"] for k in b}
    fixture_outputs = {unquote(k) for b in load_dir(fixture)["output"] for k in b}
    assert fixture_outputs == real_outputs


def test_release_owned_fields_keep_ignore_changes() -> None:
    services = [r for r in resources(TERRAFORM) if r[0] == "google_cloud_run_v2_service"]
    assert services, "no google_cloud_run_v2_service found"
    for _, name, body, file in services:
        lifecycle = body.get("lifecycle", [{}])[0]
        ignored = {item.removeprefix("${").removesuffix("}") for item in lifecycle.get("ignore_changes", [])}
        missing = RELEASE_OWNED - ignored
        assert not missing, f"{file.relative_to(REPO)}: {name} lost ignore_changes for {sorted(missing)}"
    # ...and nothing Terraform owns is ignored by mistake.
    for _, _, body, _ in services:
        ignored = {i.removeprefix("${").removesuffix("}") for i in body["lifecycle"][0]["ignore_changes"]}
        assert not ignored & {"template[0].scaling", "template[0].service_account", "ingress"}


def test_the_ownership_table_lists_every_release_owned_field() -> None:
    readme = (TERRAFORM / "README.md").read_text(encoding="utf-8")
    for field in RELEASE_OWNED:
        assert f"`{field}`" in readme, f"terraform/README.md ownership table misses {field}"


def test_no_primitive_roles_and_no_secret_values_anywhere() -> None:
    for rtype, name, body, file in resources(TERRAFORM):
        role = body.get("role")
        assert role not in PRIMITIVE_ROLES, f"{file}: {rtype}.{name} grants {role}"
        assert rtype != "google_secret_manager_secret_version", f"{file}: secret values must not be in Terraform"
        assert rtype not in ("google_project_iam_binding", "google_project_iam_policy"), (
            f"{file}: authoritative project IAM ({rtype}) would remove other members"
        )


def test_secret_accessor_is_granted_per_secret_not_per_project() -> None:
    for rtype, _, body, file in resources(TERRAFORM):
        if body.get("role") == "roles/secretmanager.secretAccessor":
            assert rtype == "google_secret_manager_secret_iam_member", f"{file}: {rtype}"


def test_gke_nodes_use_a_dedicated_service_account_and_hardening() -> None:
    by_type = {r[0]: r[2] for r in resources(TERRAFORM / "modules" / "gke_cluster")}
    pool = by_type["google_container_node_pool"]["node_config"][0]
    assert pool["service_account"] == "${var.node_service_account_email}"
    assert pool["workload_metadata_config"][0]["mode"] == "GKE_METADATA"
    assert pool["shielded_instance_config"][0]["enable_secure_boot"] is True
    cluster = by_type["google_container_cluster"]
    assert cluster["private_cluster_config"][0]["enable_private_nodes"] is True
    assert cluster["networking_mode"] == "VPC_NATIVE"
    assert "workload_pool" in cluster["workload_identity_config"][0]


# --- CI identities (modules/github_oidc) --------------------------------------------------------------------
OIDC = TERRAFORM / "modules" / "github_oidc"
ROLE = re.compile(r'"(roles/[A-Za-z.]+)"')


def oidc_resources() -> dict[str, dict[str, Any]]:
    return {f"{rtype}.{name}": body for rtype, name, body, _ in resources(OIDC)}


def test_the_provider_trusts_one_repository_and_github_only() -> None:
    provider = oidc_resources()["google_iam_workload_identity_pool_provider.github"]
    assert provider["attribute_condition"] == 'assertion.repository == "${var.github_repository}"'
    assert provider["oidc"][0]["issuer_uri"] == "${local.github_issuer}"
    issuer = load_dir(OIDC)["locals"][0]["github_issuer"]
    assert issuer == "https://token.actions.githubusercontent.com"
    assert provider["attribute_mapping"]["attribute.repository"] == "assertion.repository"


def test_only_named_github_environments_may_act_as_the_ci_accounts() -> None:
    bindings = {k: v for k, v in oidc_resources().items() if v.get("role") == "roles/iam.workloadIdentityUser"}
    assert set(bindings) == {
        "google_service_account_iam_member.deployer_federation",
        "google_service_account_iam_member.planner_federation",
    }
    for body in bindings.values():
        assert body["member"].startswith("${local.principal_set}/attribute.environment/${var.environment}")


def test_no_service_account_key_anywhere() -> None:
    assert not [r for r in resources(TERRAFORM) if r[0] == "google_service_account_key"]


def test_the_deployer_can_grant_only_the_workload_roles() -> None:
    grants = oidc_resources()["google_project_iam_member.deployer_grants"]
    assert grants["role"] == "roles/resourcemanager.projectIamAdmin"
    assert grants["condition"][0]["expression"] == (
        "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(${jsonencode(var.grantable_roles)})"
    )
    for root in ENV_BY_ROOT:
        assert (TERRAFORM / root / "ci_identity.tf").resolve() == TERRAFORM / "shared" / "ci_identity.tf"
        ci_locals = {k: v for block in load_dir(TERRAFORM / root)["locals"] for k, v in block.items()}
        assert "var.runtime_roles" in ci_locals["ci_grantable_roles"]
        assert "roles/owner" not in ci_locals["ci_grantable_roles"]


def test_project_wide_role_grants_are_only_the_listed_ones() -> None:
    """serviceAccountUser, writers and storage roles are granted on one resource, never on the project."""
    for rtype, name, body, _ in resources(OIDC):
        if rtype == "google_project_iam_member" and name != "deployer_grants":
            assert body["role"] in ("${each.value}", "roles/run.viewer"), (name, body["role"])
        if body.get("role") == "roles/iam.serviceAccountUser":
            assert rtype == "google_service_account_iam_member"
        if str(body.get("role", "")).startswith("roles/storage."):
            assert rtype == "google_storage_bucket_iam_member" and body["condition"], name


def test_every_ci_role_is_listed_and_justified_in_the_readme() -> None:
    readme = (TERRAFORM / "README.md").read_text(encoding="utf-8")
    section = readme.split("## CI/CD identities", 1)[1]
    listed = set(re.findall(r"^\| [^|]+ \| `(roles/[A-Za-z.]+)` \|", section, re.MULTILINE))
    in_code = set(ROLE.findall((OIDC / "main.tf").read_text()))
    for root in ENV_BY_ROOT:  # the roles CI holds, not the ones it may grant (ci_grantable_roles)
        ci_locals = {k: v for block in load_dir(TERRAFORM / root)["locals"] for k, v in block.items()}
        for name in ("ci_read_roles", "ci_network_roles", "ci_deployer_roles", "ci_planner_roles",
                     *(k for k in ci_locals if k.startswith("ci_monitoring_"))):
            in_code |= set(re.findall(r"roles/[A-Za-z.]+", str(ci_locals[name])))
    assert in_code, "no roles found"
    assert in_code - listed == set(), "roles granted to CI but not justified in terraform/README.md"
    assert listed - in_code == set(), "roles in the README table that the code no longer grants"
    assert not in_code & PRIMITIVE_ROLES


def test_revision_defaults_live_only_in_the_revision_model() -> None:
    """Terraform and the Cloud Run release take every revision setting from cocus.yaml's `revision` block."""
    import dataclasses

    from cocusctl.core.cloudrun.model import RevisionSpec
    from cocusctl.core.config import RevisionSettings

    declared = variables(REPO / "terraform" / "cloudrun")
    revision_inputs = ["min_instances", "max_instances", "cpu", "memory", "concurrency", "request_timeout_s",
                       "container_port", "startup_probe_path", "env_vars"]
    assert [name for name in revision_inputs if "default" in declared[name]] == []
    spec_defaults = {f.name for f in dataclasses.fields(RevisionSpec) if f.default is not dataclasses.MISSING
                     or f.default_factory is not dataclasses.MISSING}
    assert spec_defaults == {"labels", "annotations"}  # release-owned, not revision settings
    assert {"cpu", "memory", "min_instances", "max_instances", "concurrency"} <= set(RevisionSettings.model_fields)

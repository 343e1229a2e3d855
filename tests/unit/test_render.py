"""Rendering Terraform inputs and Helm values: golden files for the staging/prod examples, HCL literals,
strictness."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cocusctl.core.config import load_config
from cocusctl.core.errors import ConfigError, UsageError
from cocusctl.core.render import (
    BOOTSTRAP_IMAGE,
    hcl_literal,
    jinja_environment,
    render_context,
    render_environment,
    render_files,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "fixtures" / "config" / "cocus.yaml"
GOLDEN = REPO / "tests" / "golden" / "render"
GOLDEN_ENVS = ["staging", "prod", "prod-gke"]
UPDATE = os.environ.get("COCUS_UPDATE_GOLDEN") == "1"


def example(tmp_path: Path, **flags: object):
    return load_config(EXAMPLE, environ={}, flags={"output_dir": str(tmp_path / "out"), **flags})


@pytest.mark.parametrize("env_name", GOLDEN_ENVS)
def test_render_matches_golden_files(tmp_path: Path, env_name: str) -> None:
    loaded = example(tmp_path)
    environment = loaded.environment(env_name)
    rendered = render_files(loaded, environment)
    helm = ["helm-values.yaml"] if environment.target == "gke" else []
    assert sorted(rendered) == ["backend.hcl", *helm, "terraform.tfvars"]
    for name, (_, text) in rendered.items():
        golden = GOLDEN / env_name / name
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert text == golden.read_text(encoding="utf-8"), f"{golden} differs (COCUS_UPDATE_GOLDEN=1 rewrites)"


def test_every_template_is_covered_by_a_golden_file() -> None:
    templates = {p.relative_to(REPO / "templates").as_posix()
                 for folder in ("terraform", "helm") for p in (REPO / "templates" / folder).rglob("*.j2")}
    loaded = load_config(EXAMPLE, environ={})
    used = {t for env in GOLDEN_ENVS for t, _ in render_files(loaded, loaded.environment(env)).values()}
    # backend-local.hcl.j2 is exercised by the fixture environment (integration tests), not a golden file;
    # ci_identity.tfvars.j2 is included by both tfvars templates, so every tfvars golden file covers it.
    assert templates - used == {"terraform/backend-local.hcl.j2", "terraform/ci_identity.tfvars.j2"}


def test_golden_prod_pins_secret_versions_and_keeps_values_out(tmp_path: Path) -> None:
    text = (GOLDEN / "prod" / "terraform.tfvars").read_text()
    assert '"version" = "7"' in text and '"version" = "3"' in text
    assert "latest" not in text
    assert 'invoker            = "iam"' in text
    assert 'ingress            = "internal-and-load-balancer"' in text


def test_staging_render_writes_then_reports_unchanged_then_changed(tmp_path: Path) -> None:
    loaded = example(tmp_path)
    env = loaded.environment("staging")
    first = render_environment(loaded, env)
    assert [f.status for f in first.files] == ["created", "created"]
    assert Path(first.out_dir) == tmp_path / "out" / "render" / "staging"
    assert Path(first.root_module) == REPO / "terraform" / "cloudrun"
    second = render_environment(loaded, env)
    assert [f.status for f in second.files] == ["unchanged", "unchanged"]
    tfvars = Path(first.files[0].path)
    tfvars.write_text(tfvars.read_text() + "# hand edit\n")
    checked = render_environment(loaded, env, check=True)
    assert [f.status for f in checked.files] == ["differs", "unchanged"]
    assert tfvars.read_text().endswith("# hand edit\n"), "--check must not write"
    third = render_environment(loaded, env)
    assert [f.status for f in third.files] == ["changed", "unchanged"]


def test_check_reports_missing_files_without_creating_them(tmp_path: Path) -> None:
    loaded = example(tmp_path)
    result = render_environment(loaded, loaded.environment("prod"), out_dir=tmp_path / "x", check=True)
    assert [f.status for f in result.files] == ["missing", "missing"]
    assert not (tmp_path / "x").exists()


def test_image_is_only_the_bootstrap_image_by_default(tmp_path: Path) -> None:
    loaded = example(tmp_path)
    env = loaded.environment("staging")
    assert render_context(loaded, env)["image"] == BOOTSTRAP_IMAGE
    digest = "europe-west1-docker.pkg.dev/acme-cocus-staging/cocus/cocus-rag@sha256:" + "a" * 64
    text = render_files(loaded, env, image=digest)["terraform.tfvars"][1]
    assert f'image              = "{digest}"' in text


def test_local_state_path_defaults_under_output_dir(tmp_path: Path) -> None:
    loaded = example(tmp_path)
    text = render_files(loaded, loaded.environment("fixture"))["backend.hcl"][1]
    assert f'path = "{tmp_path / "out" / "terraform" / "fixture" / "terraform.tfstate"}"' in text


def test_environment_without_infrastructure_is_refused(tmp_path: Path) -> None:
    loaded = load_config(None, environ={}, cwd=tmp_path)
    with pytest.raises(UsageError, match="has no infrastructure"):
        render_files(loaded, loaded.environment("local"))


def test_missing_root_module_is_a_usage_error(tmp_path: Path) -> None:
    loaded = example(tmp_path, **{"environments.fixture.infra.root_module": str(tmp_path / "nope")})
    with pytest.raises(UsageError, match="does not exist"):
        render_environment(loaded, loaded.environment("fixture"))


def test_strict_undefined_names_the_missing_value(tmp_path: Path) -> None:
    (tmp_path / "terraform").mkdir()
    (tmp_path / "terraform" / "cloudrun.tfvars.j2").write_text("x = {{ not_in_context | hcl }}\n")
    (tmp_path / "terraform" / "backend-gcs.hcl.j2").write_text("bucket = {{ state.bucket | hcl }}\n")
    loaded = example(tmp_path)
    with pytest.raises(UsageError, match="'not_in_context' is undefined"):
        render_files(loaded, loaded.environment("staging"), templates_dir=tmp_path)


def test_one_jinja_environment_with_strict_undefined() -> None:
    import jinja2

    env = jinja_environment()
    assert env is jinja_environment()
    assert env.undefined is jinja2.StrictUndefined and env.autoescape is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (3, "3"),
        ("a\"b\\c\n", '"a\\"b\\\\c\\n"'),
        ("${var.x} and %{ if }", '"$${var.x} and %%{ if }"'),
        ([], "[]"),
        (["a", 1], '["a", 1]'),
        ({}, "{}"),
        ({"a": 1, "long-key": "x"}, '{\n  "a"        = 1\n  "long-key" = "x"\n}'),
        ([{"k": "v"}], '[\n  {\n    "k" = "v"\n  },\n]'),
    ],
)
def test_hcl_literal(value: object, expected: str) -> None:
    assert hcl_literal(value) == expected


def test_hcl_literal_rejects_unknown_types() -> None:
    with pytest.raises(TypeError):
        hcl_literal(object())


def test_artifact_repository_comes_from_the_registry_url(tmp_path: Path) -> None:
    loaded = example(tmp_path, **{"environments.staging.registry.url": "europe-west1-docker.pkg.dev/p-123456/images"})
    assert render_context(loaded, loaded.environment("staging"))["artifact_repository_id"] == "images"
    loaded = example(tmp_path, **{"environments.staging.infra.artifact_registry.repository": "explicit"})
    assert render_context(loaded, loaded.environment("staging"))["artifact_repository_id"] == "explicit"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("environments.prod.revision.secrets", {"S": {"secret": "s", "version": "latest"}}, "pin a version"),
        ("environments.prod.revision.env", {"DB_PASSWORD": "x"}, "looks like a secret"),
        ("environments.prod.revision.env", {"REDIS_URL": "x"}, "set both in env and secrets"),
        ("environments.prod.infra.runtime_roles", ["roles/editor"], "primitive role"),
        ("environments.prod.infra.invoker_members", ["allUsers"], "invoker: public"),
        ("environments.prod.revision.min_instances", 60, "exceeds max_instances"),
        ("environments.prod.infra.network.pods_cidr", "10.40.0.0/16", "overlaps"),
        ("environments.prod.infra.state", {"backend": "gcs"}, "needs a bucket"),
        ("environments.prod.infra.labels", {"Team": "x"}, "invalid GCP label"),
    ],
)
def test_infra_config_is_validated(tmp_path: Path, key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        example(tmp_path, **{key: value})

"""The Terraform adapter and the infra phase against the real terraform binary.

The root module is tests/fixtures/terraform/cloudrun: the real terraform/cloudrun variables (symlinked, so
the rendered tfvars are type-checked and validated by terraform itself), built-in terraform_data resources
and a local backend — no provider downloads.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from cocusctl.adapters.terraform import StateLocked, Terraform
from cocusctl.core.config import load_config
from cocusctl.core.errors import ExitCode, NotAvailableError, ToolError, UsageError
from cocusctl.core.infra import plan_environment, run_infra_phase
from cocusctl.core.reporting import RecordingReporter

pytestmark = pytest.mark.terraform

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "fixtures" / "config" / "cocus.yaml"
DIGEST = "europe-west1-docker.pkg.dev/acme-cocus-fixture/cocus/cocus-rag@sha256:" + "b" * 64


def fixture_env(out: Path, **flags: object):
    loaded = load_config(EXAMPLE, environ={}, flags={"output_dir": str(out), **flags})
    return loaded, loaded.environment("fixture")


def factory(terraform_bin: str):
    return lambda workdir, data_dir=None: Terraform(workdir, data_dir=data_dir, binary=terraform_bin)


def plan(out: Path, terraform_bin: str, *, image: str | None = None, **flags: object):
    loaded, env = fixture_env(out, **flags)
    return plan_environment(loaded, env, RecordingReporter(), factory(terraform_bin), image=image)


def test_init_plan_apply_outputs_and_plan_again(tmp_path: Path, terraform_bin: str) -> None:
    reporter = RecordingReporter()
    loaded, env = fixture_env(tmp_path)
    summary, tf, paths = plan_environment(loaded, env, reporter, factory(terraform_bin))
    assert summary.has_changes and summary.counts == {"create": 6, "update": 0, "replace": 0, "delete": 0}
    assert "terraform_data.service" in [c.address for c in summary.changes]
    assert summary.drift == [] and "service_url" in summary.output_changes
    assert paths.plan_file.is_file() and summary.plan_file == str(paths.plan_file)
    assert any(kind == "detail" and "Plan: 6 to add" in text for kind, text in reporter.events), "plan streamed"
    # the module folder stays clean: data dir and state live under output_dir
    assert not (paths.root_module / ".terraform").exists()
    assert (tmp_path / "terraform" / "fixture" / ".terraform").is_dir()

    tf.apply(paths.plan_file, lock_timeout_s=5)
    outputs = tf.output_json()
    assert outputs["service_url"] == "https://cocus-rag-fixture.a.run.app"
    assert outputs["service_account_email"] == "cocus-rag-fixture@acme-cocus-fixture.iam.gserviceaccount.com"
    assert outputs["repository_url"] == "europe-west1-docker.pkg.dev/acme-cocus-fixture/cocus-rag"
    assert outputs["secret_ids"] == {
        "cocus-rag-api-keys": "projects/acme-cocus-fixture/secrets/cocus-rag-api-keys"
    }
    assert outputs["ci_deployer_email"] == "cocus-deployer@acme-cocus-fixture.iam.gserviceaccount.com"
    assert outputs["ci_planner_email"] == "cocus-planner@acme-cocus-fixture.iam.gserviceaccount.com"
    assert (tmp_path / "terraform" / "fixture" / "terraform.tfstate").is_file()

    again, _, _ = plan(tmp_path, terraform_bin)
    assert not again.has_changes and again.changes == [] and again.total == 0

    # A new release image is release-owned: Terraform must not plan to change it.
    released, _, _ = plan(tmp_path, terraform_bin, image=DIGEST)
    assert not released.has_changes

    # A Terraform-owned field is an in-place update of the service only.
    scaled, _, _ = plan(tmp_path, terraform_bin, **{"environments.fixture.revision.max_instances": 20})
    assert [(c.action, c.address) for c in scaled.changes] == [("update", "terraform_data.service")]

    # Renaming the service forces replacement; dropping the secret deletes it (a deliberately open service
    # needs no API keys: the settings contract allows it).
    renamed, _, _ = plan(
        tmp_path,
        terraform_bin,
        **{"environments.fixture.cloudrun.service": "cocus-rag-v2", "environments.fixture.revision.secrets": {},
           "environments.fixture.revision.env": {"COCUS_AUTH_DISABLED": "true"}},
    )
    actions = {c.address: (c.action, c.reason) for c in renamed.changes}
    assert actions["terraform_data.service"] == ("replace", "replace_because_cannot_update")
    assert actions['terraform_data.secret["cocus-rag-api-keys"]'][0] == "delete"
    assert renamed.counts["replace"] >= 1 and renamed.counts["delete"] == 1


def test_infra_phase_asks_before_applying_and_is_idempotent(tmp_path: Path, terraform_bin: str) -> None:
    loaded, env = fixture_env(tmp_path)
    questions: list[str] = []

    def no(question: str) -> bool:
        questions.append(question)
        return False

    with pytest.raises(UsageError, match="were not applied"):
        run_infra_phase(loaded, env, RecordingReporter(), no, factory(terraform_bin))
    assert questions == ["Apply 6 to create to fixture?"]
    state = tmp_path / "terraform" / "fixture" / "terraform.tfstate"
    text = state.read_text() if state.exists() else ""
    assert not text or json.loads(text)["resources"] == [], "declining must change nothing"

    result = run_infra_phase(loaded, env, RecordingReporter(), lambda q: True, factory(terraform_bin), image=DIGEST)
    assert result.applied and result.plan is not None and result.plan.counts["create"] == 6
    assert result.outputs["service_name"] == "cocus-rag"

    def must_not_ask(question: str) -> bool:
        raise AssertionError(f"asked {question!r} with nothing to apply")

    again = run_infra_phase(loaded, env, RecordingReporter(), must_not_ask, factory(terraform_bin))
    assert not again.applied and again.plan is not None and not again.plan.has_changes
    assert again.outputs["service_url"] == "https://cocus-rag-fixture.a.run.app"


def test_infra_phase_skips_without_running_terraform(tmp_path: Path) -> None:
    def no_terraform(*args: object, **kwargs: object):
        raise AssertionError("terraform must not be built for a skipped phase")

    loaded, env = fixture_env(tmp_path)
    skipped = run_infra_phase(loaded, env, RecordingReporter(), lambda q: True, no_terraform, skip=True)
    assert skipped.skipped and skipped.reason == "--skip-infra"
    local = load_config(None, environ={}, cwd=tmp_path)
    result = run_infra_phase(local, local.environment("local"), RecordingReporter(), lambda q: True, no_terraform)
    assert result.skipped and result.reason == "infrastructure: false"


def test_failing_plan_is_a_tool_error_naming_terraforms_error(tmp_path: Path, terraform_bin: str) -> None:
    # The config accepts any project string; terraform's own validation rejects this one.
    with pytest.raises(ToolError) as info:
        plan(tmp_path, terraform_bin, **{"environments.fixture.project": "Not_A_Project"})
    assert info.value.exit_code == ExitCode.TOOL_FAILED
    assert info.value.message.startswith("terraform plan failed (exit 1): Error: Invalid value for variable")
    assert "project_id must be a GCP project id" in info.value.stderr_tail


def test_held_state_lock_times_out_with_the_holder(tmp_path: Path, terraform_bin: str) -> None:
    state = tmp_path / "terraform" / "fixture" / "terraform.tfstate"
    state.parent.mkdir(parents=True)
    # A second, real terraform run holds the lock on the same local state while it applies.
    locker = tmp_path / "locker"
    locker.mkdir()
    (locker / "main.tf").write_text(
        'terraform {\n  backend "local" {}\n}\n\n'
        'resource "terraform_data" "hold" {\n'
        '  provisioner "local-exec" {\n    command = "sleep 20"\n  }\n}\n'
    )
    env = {"TF_DATA_DIR": str(tmp_path / "locker-data"), "TF_IN_AUTOMATION": "1"}
    run_env = {**os.environ, **env}
    subprocess.run(
        [terraform_bin, f"-chdir={locker}", "init", "-input=false", f"-backend-config=path={state}"],
        env=run_env, check=True, capture_output=True, timeout=60,
    )
    holder = subprocess.Popen(
        [terraform_bin, f"-chdir={locker}", "apply", "-auto-approve", "-input=false"],
        env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        lock_info = state.parent / ".terraform.tfstate.lock.info"
        deadline = time.monotonic() + 15
        while not lock_info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock_info.exists(), "the locker never took the lock"
        started = time.monotonic()
        with pytest.raises(StateLocked) as info:
            plan(tmp_path, terraform_bin)  # fixture env: infra.lock_timeout_s = 2
        waited = time.monotonic() - started
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    assert info.value.exit_code == ExitCode.TIMEOUT
    assert "the state is locked by" in info.value.message and "@" in info.value.message
    assert "lock ID" in info.value.message and "?" not in info.value.message
    assert waited >= 2, "terraform waited for -lock-timeout before giving up"


def test_missing_binary_is_not_available(tmp_path: Path) -> None:
    with pytest.raises(NotAvailableError, match="terraform-not-installed"):
        Terraform(tmp_path, binary="terraform-not-installed").version()


def test_gke_fixture_standard_to_autopilot_replaces_the_cluster(tmp_path: Path, terraform_bin: str) -> None:
    loaded = load_config(EXAMPLE, environ={}, flags={"output_dir": str(tmp_path)})
    env = loaded.environment("fixture-gke")
    result = run_infra_phase(loaded, env, RecordingReporter(), lambda q: True, factory(terraform_bin))
    assert result.applied and result.plan is not None and result.plan.counts["create"] == 8  # 7 + the API-keys secret
    assert result.outputs["workload_identity_annotation"] == {
        "iam.gke.io/gcp-service-account": "cocus-rag-fixture@acme-cocus-fixture.iam.gserviceaccount.com"
    }
    loaded = load_config(
        EXAMPLE, environ={}, flags={"output_dir": str(tmp_path), "environments.fixture-gke.infra.gke.autopilot": True}
    )
    summary, _, _ = plan_environment(loaded, loaded.environment("fixture-gke"), RecordingReporter(),
                                     factory(terraform_bin))
    actions = {c.address: c.action for c in summary.changes}
    assert actions == {"terraform_data.cluster": "replace", "terraform_data.node_pool[0]": "delete"}

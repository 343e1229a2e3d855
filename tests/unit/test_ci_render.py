"""CI/CD workflows rendered from cocus.yaml: one source for the repository's own workflows and a user's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cocusctl.core.config import load_config
from cocusctl.core.errors import ConfigError
from cocusctl.core.workflows import ACTIONS, render_workflows, write_workflows

REPO = Path(__file__).resolve().parents[2]
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
# Steps cocusctl owns: a workflow must call cocusctl for them, never re-implement them in shell.
REIMPLEMENTED = re.compile(r"\b(docker (build|push|tag)|terraform (init|plan|apply)|trivy |gcloud run|kubectl |helm )")

USER_CONFIG = (REPO / "tests" / "fixtures" / "config" / "ci-user.yaml").read_text()


def user_config(tmp_path: Path, text: str = USER_CONFIG):
    path = tmp_path / "cocus.yaml"
    path.write_text(text)
    return load_config(path, environ={})


def workflows(tmp_path: Path, text: str = USER_CONFIG) -> dict[str, dict[str, Any]]:
    rendered = render_workflows(user_config(tmp_path, text))
    return {Path(name).name: yaml.safe_load(body) for name, (_, body) in rendered.items()}


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow[True]  # PyYAML reads the key `on` as YAML 1.1's boolean true


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job["steps"]]


def test_the_repository_workflows_are_the_rendering_of_its_cocus_yaml() -> None:
    result = write_workflows(load_config(REPO / "cocus.yaml", environ={}), check=True)
    assert [Path(f.path).relative_to(REPO).as_posix() for f in result.files] == [
        ".github/workflows/ci.yml", ".github/workflows/release.yml"
    ]
    stale = [f.path for f in result.changed]
    assert stale == [], "run `cocusctl ci render --provider github` and commit the result"


def test_user_release_chain_deploys_to_the_first_and_promotes_along_the_rest(tmp_path: Path) -> None:
    release = workflows(tmp_path)["release.yml"]
    jobs = release["jobs"]
    assert list(jobs) == ["build", "plan-qa", "plan-stage", "plan-live", "deploy-qa", "promote-stage", "promote-live"]
    assert jobs["build"]["environment"] == "qa"
    assert {jobs[f"plan-{e}"]["environment"] for e in ("qa", "stage", "live")} == {"qa-plan", "stage-plan", "live-plan"}
    assert jobs["deploy-qa"]["needs"] == ["build", "plan-qa"]
    assert jobs["promote-stage"]["needs"] == ["deploy-qa", "plan-stage"]
    assert jobs["promote-live"]["needs"] == ["promote-stage", "plan-live"]
    assert jobs["promote-live"]["environment"] == "live"
    runs = {job_id: [s.get("run", "") for s in job["steps"]] for job_id, job in jobs.items()}
    assert '.venv/bin/cocusctl deploy --env qa --image "$IMAGE" --yes' in runs["deploy-qa"]
    assert ".venv/bin/cocusctl promote --from stage --to live --yes" in runs["promote-live"]
    assert any("cocusctl build --env qa --output json" in r for r in runs["build"])
    assert any('cocusctl plan --env qa --image "$IMAGE"' in r for r in runs["plan-qa"])
    assert any("cocusctl plan --env live > plan.txt" in r for r in runs["plan-live"])
    assert triggers(release)["push"] == {"branches": ["trunk"], "tags": ["v*"]}
    python = [s["with"]["python-version"] for _, s in steps(release) if "setup-python" in s.get("uses", "")]
    assert python and set(python) == {"3.12"}


def test_ci_workflow_runs_the_projects_own_commands(tmp_path: Path) -> None:
    ci = workflows(tmp_path)["ci.yml"]
    assert triggers(ci)["push"] == {"branches": ["trunk"]} and "pull_request" in triggers(ci)
    runs = {job_id: [s.get("run") for s in job["steps"] if "run" in s] for job_id, job in ci["jobs"].items()}
    assert runs["lint-unit"] == ["bash scripts/test.sh --unit"]
    assert runs["integration"] == ["sudo --preserve-env=CI,NO_COLOR,COLUMNS bash scripts/test.sh"]
    assert ".venv/bin/cocusctl build --env dev --no-push" in runs["image"]
    upload = next(s for s in ci["jobs"]["image"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "build/cocus/build" and upload["if"] == "${{ !cancelled() }}"


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_every_action_is_pinned_by_a_known_commit(tmp_path: Path, name: str) -> None:
    text = render_workflows(user_config(tmp_path))[f".github/workflows/{name}"][1]
    known = {f"{a.uses}@{a.sha}": a.tag for a in ACTIONS.values()}
    uses = re.findall(r"uses: (\S+)(?: # (\S+))?", text)
    assert uses
    for ref, tag in uses:
        assert PINNED.match(ref), f"{ref} is not pinned by a commit SHA"
        assert known.get(ref) == tag, f"{ref} # {tag} is not in cocusctl.core.workflows.ACTIONS"


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_least_privilege_and_concurrency(tmp_path: Path, name: str) -> None:
    workflow = workflows(tmp_path)[name]
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["group"]
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"{job_id} has no permissions block"
        assert job["permissions"].get("contents") == "read", job_id
        assert "write-all" not in str(job["permissions"]) and job.get("timeout-minutes"), job_id
        if "id-token" in job["permissions"]:
            assert job.get("environment"), f"{job_id} gets cloud credentials outside a GitHub environment"


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_secrets_and_expressions_never_reach_a_shell_line(tmp_path: Path, name: str) -> None:
    for job_id, step in steps(workflows(tmp_path)[name]):
        run = step.get("run", "")
        assert "${{" not in run, f"{job_id}: expression in a run script (template injection); pass it by env"
        assert not REIMPLEMENTED.search(run), f"{job_id}: {run!r} re-implements a cocusctl step"
        assert "set -x" not in run
        for key, value in (step.get("env") or {}).items():
            if "secrets." in str(value):
                assert f"${key}" not in run, f"{job_id}: secret {key} used on the command line"
        if "checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False


def test_without_a_release_chain_only_ci_is_written(tmp_path: Path) -> None:
    text = USER_CONFIG.split("ci:\n")[0]
    assert list(workflows(tmp_path, text)) == ["ci.yml"]


@pytest.mark.parametrize(
    ("ci_block", "message"),
    [
        ("ci: {repository: a/b, release: [qa, nowhere]}", "ci: unknown environment(s) nowhere"),
        ("ci: {repository: a/b, release: [dev]}", "ci.release: dev has no infrastructure"),
        ("ci: {release: [qa]}", "ci.release needs ci.repository"),
        ("ci: {repository: a/b, release: [qa, qa]}", "ci.release: an environment is listed twice"),
        ("ci: {repository: 'not a repo', release: [qa]}", "ci.repository: String should match pattern"),
        ("ci: {test_environment: nowhere}", "ci: unknown environment(s) nowhere"),
    ],
)
def test_bad_ci_blocks_are_config_errors(tmp_path: Path, ci_block: str, message: str) -> None:
    text = USER_CONFIG.split("ci:\n")[0] + ci_block + "\n"
    with pytest.raises(ConfigError, match=re.escape(message)):
        user_config(tmp_path, text)


def test_terraform_gets_identities_for_release_environments_only(tmp_path: Path) -> None:
    from cocusctl.core.render import render_context

    loaded = user_config(tmp_path)
    contexts = {name: render_context(loaded, loaded.environment(name))["ci"] for name in ("qa", "stage", "live")}
    assert contexts["qa"]["github_repository"] == "shop-org/shop"
    assert contexts["qa"]["promotion_readers"] == ["serviceAccount:cocus-deployer@shop-stage-123.iam.gserviceaccount.com"]
    assert contexts["stage"]["promotion_readers"] == ["serviceAccount:cocus-deployer@shop-live-123.iam.gserviceaccount.com"]
    assert contexts["live"]["promotion_readers"] == []
    assert contexts["live"]["state_bucket"] == "shop-tfstate" and contexts["live"]["state_prefix"] == "shop/live"
    outside = load_config(tmp_path / "cocus.yaml", environ={}, flags={"ci.release": ["qa"]})
    assert render_context(outside, outside.environment("live"))["ci"]["github_repository"] is None

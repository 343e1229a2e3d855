"""`cocusctl ci render`: the CI/CD workflows of a repository, rendered from templates and its `cocus.yaml`.

The workflows only call cocusctl (build, plan, deploy, promote) and the project's scripts, so what they do
is defined once, here and in those commands. Every action is pinned by commit SHA (`ACTIONS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from cocusctl.core.config import Environment, LoadedConfig
from cocusctl.core.errors import UsageError
from cocusctl.core.render import RenderedFile, render_templates, write_rendered

Provider = Literal["github"]
PROVIDERS: tuple[Provider, ...] = ("github",)
WORKFLOWS_DIR = Path(".github") / "workflows"


@dataclass(frozen=True)
class PinnedAction:
    """An action at the commit its release tag points to (read from the tag in the action's own repository)."""

    uses: str
    tag: str
    sha: str

    def __str__(self) -> str:
        return f"{self.uses}@{self.sha} # {self.tag}"


# Each SHA is the commit of the release tag in the action's repository (git rev-parse TAG^{commit});
# docs/decisions.md ("CI/CD workflows") records when and how they were read. Update tag and SHA together.
ACTIONS = {
    "checkout": PinnedAction("actions/checkout", "v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1"),
    "setup_python": PinnedAction("actions/setup-python", "v7.0.0", "5fda3b95a4ea91299a34e894583c3862153e4b97"),
    "upload_artifact": PinnedAction("actions/upload-artifact", "v7.0.0", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"),
    "upload_sarif": PinnedAction(
        "github/codeql-action/upload-sarif", "v4.36.2", "8aad20d150bbac5944a9f9d289da16a4b0d87c1e"
    ),
    "auth": PinnedAction("google-github-actions/auth", "v3.0.0", "7c6bc770dae815cd3e89ee6cdf493a5fab2cc093"),
    "setup_terraform": PinnedAction("hashicorp/setup-terraform", "v4.0.1", "dfe3c3f87815947d99a8997f908cb6525fc44e9e"),
}

# Output file (relative to the repository) -> template.
GITHUB_TEMPLATES = {
    WORKFLOWS_DIR / "ci.yml": "ci/github/ci.yml.j2",
    WORKFLOWS_DIR / "release.yml": "ci/github/release.yml.j2",
}


class CiRenderResult(BaseModel):
    provider: str
    out_dir: str
    check: bool
    release: list[str]
    files: list[RenderedFile]

    @property
    def changed(self) -> list[RenderedFile]:
        return [f for f in self.files if f.status != "unchanged"]


def release_chain(loaded: LoadedConfig) -> list[dict[str, Any]]:
    """The release environments in order, each knowing the one it is promoted from and the job before it."""
    chain: list[dict[str, Any]] = []
    for index, name in enumerate(loaded.config.ci.release):
        previous = chain[-1] if chain else None
        chain.append({
            "name": name,
            "first": index == 0,
            "promote_from": previous["name"] if previous else None,
            "previous_job": (("deploy-" if previous["first"] else "promote-") + previous["name"]) if previous else None,
        })
    return chain


def ci_identity_inputs(loaded: LoadedConfig, environment: Environment, state: dict[str, Any]) -> dict[str, Any]:
    """Terraform inputs of the github_oidc module: only release environments get CI identities; each one lets
    the next environment's deployer read what it serves, so `cocusctl promote` can copy it."""
    ci = loaded.config.ci
    inputs: dict[str, Any] = {
        "github_repository": None,
        "deployer_account_id": ci.deployer_account_id,
        "planner_account_id": ci.planner_account_id,
        "promotion_readers": [],
        "state_bucket": state.get("bucket"),
        "state_prefix": state.get("prefix"),
    }
    if environment.name in ci.release:
        inputs["github_repository"] = ci.repository
        position = ci.release.index(environment.name)
        if position + 1 < len(ci.release):
            next_project = loaded.config.environments[ci.release[position + 1]].project
            inputs["promotion_readers"] = [
                f"serviceAccount:{ci.deployer_account_id}@{next_project}.iam.gserviceaccount.com"
            ]
    return inputs


def workflow_context(loaded: LoadedConfig) -> dict[str, Any]:
    config = loaded.config
    chain = release_chain(loaded)
    return {
        "project": config.project,
        "default_branch": config.ci.default_branch,
        "python_version": config.ci.python_version,
        "test_environment": config.ci.test_environment or config.default_environment,
        "output_dir": config.output_dir.as_posix(),
        "release": chain,
        "first": chain[0] if chain else None,
        "actions": {key: str(action) for key, action in ACTIONS.items()},
    }


def render_workflows(
    loaded: LoadedConfig, provider: Provider = "github", *, templates_dir: Path | None = None
) -> dict[str, tuple[str, str]]:
    """Render the provider's workflows in memory: relative path -> (template, text). Without `ci.release`
    there is nothing to release, and only the CI workflow is written."""
    if provider not in PROVIDERS:
        raise UsageError(f"unknown CI provider {provider!r} (known: {', '.join(PROVIDERS)})")
    context = workflow_context(loaded)
    templates = {
        path.as_posix(): template
        for path, template in GITHUB_TEMPLATES.items()
        if context["release"] or path.name != "release.yml"
    }
    return render_templates(templates_dir, templates, context, workflow_syntax=True)


def write_workflows(
    loaded: LoadedConfig,
    provider: Provider = "github",
    *,
    out_dir: Path | None = None,
    check: bool = False,
    templates_dir: Path | None = None,
) -> CiRenderResult:
    """Write the workflows under `out_dir` (default: the folder of cocus.yaml), or with `check` only compare."""
    rendered = render_workflows(loaded, provider, templates_dir=templates_dir)
    out = (out_dir or loaded.root).resolve()
    return CiRenderResult(
        provider=provider,
        out_dir=str(out),
        check=check,
        release=list(loaded.config.ci.release),
        files=write_rendered(out, rendered, check=check),
    )

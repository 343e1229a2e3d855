"""The infra phase: render -> terraform init -> plan -> summary -> apply the saved plan when confirmed.

`plan_environment` backs `cocusctl plan`; `run_infra_phase` is what `cocusctl deploy` calls before its
release phase. Terraform is reached only through the `TerraformRunner` protocol, built by a factory
(`AppContext.adapters.terraform` in the CLI).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from cocusctl.core.assets import asset
from cocusctl.core.config import Environment, LoadedConfig
from cocusctl.core.errors import UsageError
from cocusctl.core.render import (
    BACKEND_FILE,
    TFVARS_FILE,
    default_out_dir,
    render_environment,
    require_infrastructure,
    root_module,
    terraform_work_dir,
)
from cocusctl.core.reporting import Reporter, tool_log

Action = Literal["create", "update", "replace", "delete", "read", "no-op"]
CHANGE_ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete")
PLAN_FILE = "tfplan"
# The oldest terraform the modules accept (their `required_version`): validations that refer to other
# variables need 1.9. The adapter checks it before any work; doctor and the set-up scripts name it.
TERRAFORM_MIN_VERSION = (1, 9)
TERRAFORM_INSTALL_HINT = f"install Terraform >= {'.'.join(map(str, TERRAFORM_MIN_VERSION))}"


class TerraformRunner(Protocol):
    def version(self) -> str: ...

    def init(self, *, backend_config: Path | None = None, on_line: Callable[[str], None] | None = None) -> None: ...

    def plan(
        self,
        *,
        out: Path,
        var_files: Sequence[Path] = (),
        lock_timeout_s: int = 300,
        on_line: Callable[[str], None] | None = None,
    ) -> bool: ...

    def show_json(self, plan_file: Path) -> dict[str, Any]: ...

    def apply(
        self, plan_file: Path, *, lock_timeout_s: int = 300, on_line: Callable[[str], None] | None = None
    ) -> None: ...

    def output_json(self) -> dict[str, Any]: ...


# (workdir = root module, data_dir = per-environment .terraform) -> runner; `Adapters.terraform` fits.
TerraformFactory = Callable[..., TerraformRunner]


# --- the plan summary --------------------------------------------------------------------------------------
class ResourceChange(BaseModel):
    address: str
    type: str
    action: Action
    reason: str | None = None


class PlanSummary(BaseModel):
    environment: str
    root_module: str
    plan_file: str
    terraform_version: str
    has_changes: bool
    counts: dict[str, int]
    changes: list[ResourceChange]
    drift: list[ResourceChange]
    output_changes: list[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _action(actions: Sequence[str]) -> Action:
    acts = list(actions)
    if "delete" in acts and "create" in acts:
        return "replace"
    if acts in (["create"], ["update"], ["delete"], ["read"], ["no-op"]):
        return acts[0]  # type: ignore[return-value]
    return "no-op" if not acts else acts[-1]  # type: ignore[return-value]


def _changes(items: Sequence[dict[str, Any]]) -> list[ResourceChange]:
    out = []
    for item in items:
        action = _action(item.get("change", {}).get("actions", []))
        if action in ("no-op", "read"):
            continue
        reason = item.get("action_reason")
        out.append(ResourceChange(address=item["address"], type=item.get("type", ""), action=action, reason=reason))
    return sorted(out, key=lambda c: (CHANGE_ACTIONS.index(c.action) if c.action in CHANGE_ACTIONS else 9, c.address))


def summarize_plan(
    plan: dict[str, Any],
    *,
    environment: str,
    root_module: str = "",
    plan_file: str = "",
    has_changes: bool | None = None,
) -> PlanSummary:
    """Summarise `terraform show -json <plan>`: planned changes by resource, drift (`resource_drift`) apart."""
    changes = _changes(plan.get("resource_changes") or [])
    drift = _changes(plan.get("resource_drift") or [])
    outputs = sorted(
        name
        for name, change in (plan.get("output_changes") or {}).items()
        if [a for a in change.get("actions", []) if a != "no-op"]
    )
    counts = {action: sum(1 for c in changes if c.action == action) for action in CHANGE_ACTIONS}
    if has_changes is None:
        has_changes = bool(changes or outputs)
    return PlanSummary(
        environment=environment,
        root_module=root_module,
        plan_file=plan_file,
        terraform_version=str(plan.get("terraform_version", "")),
        has_changes=has_changes,
        counts=counts,
        changes=changes,
        drift=drift,
        output_changes=outputs,
    )


# --- running it --------------------------------------------------------------------------------------------
# Where cocusctl's own Terraform modules are copied for a run (under the environment's work dir).
STAGED_MODULES = "modules"


@dataclass(frozen=True)
class InfraPaths:
    root_module: Path  # where terraform runs (-chdir)
    render_dir: Path
    work_dir: Path
    bundled: bool = False  # cocusctl's own modules: staged into the work dir before each run

    @property
    def data_dir(self) -> Path:
        return self.work_dir / ".terraform"

    @property
    def plan_file(self) -> Path:
        return self.work_dir / PLAN_FILE

    @property
    def var_file(self) -> Path:
        return self.render_dir / TFVARS_FILE

    @property
    def backend_file(self) -> Path:
        return self.render_dir / BACKEND_FILE


def infra_paths(loaded: LoadedConfig, environment: Environment) -> InfraPaths:
    source = root_module(loaded, environment)
    work_dir = terraform_work_dir(loaded, environment)
    if environment.settings.infra.root_module is not None:
        return InfraPaths(source, default_out_dir(loaded, environment), work_dir)
    return InfraPaths(work_dir / STAGED_MODULES / environment.target, default_out_dir(loaded, environment), work_dir,
                      bundled=True)


def stage_modules(paths: InfraPaths) -> None:
    """Copy cocusctl's Terraform modules (links resolved) into the work dir: terraform writes its
    `.terraform.lock.hcl` into the root module, which must not be the installed package. The lock files
    of earlier runs are kept; everything else is replaced, so a module removed upstream cannot linger."""
    if not paths.bundled:
        return
    staged = paths.work_dir / STAGED_MODULES
    locks = {p.relative_to(staged): p.read_bytes() for p in staged.rglob(".terraform.lock.hcl")} \
        if staged.is_dir() else {}
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(asset("terraform"), staged, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    for relative, data in locks.items():
        if (staged / relative).parent.is_dir():
            (staged / relative).write_bytes(data)


def terraform_for(
    loaded: LoadedConfig, environment: Environment, terraform_factory: TerraformFactory
) -> tuple[TerraformRunner, InfraPaths]:
    paths = infra_paths(loaded, environment)
    return terraform_factory(paths.root_module, data_dir=paths.data_dir), paths


def plan_environment(
    loaded: LoadedConfig,
    environment: Environment,
    reporter: Reporter,
    terraform_factory: TerraformFactory,
    *,
    image: str | None = None,
) -> tuple[PlanSummary, TerraformRunner, InfraPaths]:
    """Render, init and plan; the saved plan is left in the environment's Terraform work dir."""
    require_infrastructure(environment)
    tf, paths = terraform_for(loaded, environment, terraform_factory)
    version = tf.version()
    stage_modules(paths)
    reporter.step(f"Rendering Terraform inputs for {environment.name}")
    rendered = render_environment(loaded, environment, image=image)
    for item in rendered.files:
        reporter.info(f"{item.status:9} {item.path}")
    paths.work_dir.mkdir(parents=True, exist_ok=True)
    paths.plan_file.unlink(missing_ok=True)
    reporter.step(f"terraform {version}: init {paths.root_module}")
    with tool_log(reporter, paths.work_dir / "init.log") as sink:
        tf.init(backend_config=paths.backend_file, on_line=sink)
    reporter.step("terraform plan")
    lock_timeout = environment.settings.infra.lock_timeout_s
    with tool_log(reporter, paths.work_dir / "plan.log") as sink:
        has_changes = tf.plan(
            out=paths.plan_file, var_files=[paths.var_file], lock_timeout_s=lock_timeout, on_line=sink
        )
    summary = summarize_plan(
        tf.show_json(paths.plan_file),
        environment=environment.name,
        root_module=str(paths.root_module),
        plan_file=str(paths.plan_file),
        has_changes=has_changes,
    )
    if summary.drift:
        reporter.warn(f"{len(summary.drift)} resource(s) changed outside Terraform (drift); see the summary")
    return summary, tf, paths


def describe_counts(summary: PlanSummary) -> str:
    parts = [f"{n} to {a}" for a, n in summary.counts.items() if n]
    if summary.output_changes and not parts:
        parts.append(f"{len(summary.output_changes)} output(s) to change")
    return ", ".join(parts) or "no changes"


class InfraResult(BaseModel):
    """What the infra phase of a deploy did: skipped (why), or the plan and whether it was applied."""

    environment: str
    skipped: bool = False
    reason: str | None = None
    plan: PlanSummary | None = None
    applied: bool = False
    outputs: dict[str, Any] = {}

    def describe(self) -> str:
        if self.skipped:
            return f"skipped ({self.reason})"
        if self.applied and self.plan is not None:
            return f"applied: {describe_counts(self.plan)}"
        return "up to date"


def run_infra_phase(
    loaded: LoadedConfig,
    environment: Environment,
    reporter: Reporter,
    confirm: Callable[[str], bool],
    terraform_factory: TerraformFactory,
    *,
    image: str | None = None,
    skip: bool = False,
) -> InfraResult:
    """The infra phase of `cocusctl deploy`: render -> init -> plan -> summary -> apply when confirmed.

    - Skipped (``InfraResult.skipped``) with ``skip=True`` (``--skip-infra``) or when the environment has
      ``infrastructure: false`` (the local emulator); nothing is run.
    - No changes: nothing is applied; the current outputs are returned.
    - Changes: ``confirm(question)`` is asked (the CLI answers it with ``--yes``); on yes exactly the
      saved plan is applied and the outputs are returned. On no, ``UsageError`` is raised and nothing was
      changed — the release phase must not run against unapplied infrastructure.
    - ``image`` is only the image Terraform uses when it first creates the service (release-owned after).
    Errors: ``ToolError`` (terraform failed), ``StateLocked``/``OperationTimeout`` (lock held past
    ``infra.lock_timeout_s``), ``NotAvailableError`` (no terraform), ``UsageError`` (bad config/templates).
    """
    if skip:
        return InfraResult(environment=environment.name, skipped=True, reason="--skip-infra")
    if not environment.settings.infrastructure:
        return InfraResult(environment=environment.name, skipped=True, reason="infrastructure: false")
    summary, tf, paths = plan_environment(loaded, environment, reporter, terraform_factory, image=image)
    if not summary.has_changes:
        reporter.success(f"infrastructure of {environment.name} is up to date")
        return InfraResult(environment=environment.name, plan=summary, outputs=tf.output_json())
    for change in summary.changes:
        reporter.info(f"{change.action:8} {change.address}")
    question = f"Apply {describe_counts(summary)} to {environment.name}?"
    if not confirm(question):
        raise UsageError(
            f"infrastructure changes for {environment.name} were not applied; nothing was changed",
            hint="review with `cocusctl plan`, then rerun (or pass --skip-infra to deploy without them)",
        )
    reporter.step(f"terraform apply {paths.plan_file.name}")
    with tool_log(reporter, paths.work_dir / "apply.log") as sink:
        tf.apply(paths.plan_file, lock_timeout_s=environment.settings.infra.lock_timeout_s, on_line=sink)
    reporter.success(f"applied: {describe_counts(summary)}")
    return InfraResult(environment=environment.name, plan=summary, applied=True, outputs=tf.output_json())

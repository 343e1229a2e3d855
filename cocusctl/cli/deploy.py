"""`cocusctl deploy`: roll an image (by digest) out to an environment's target."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from cocusctl.cli.context import AppContext, get_context
from cocusctl.cli.options import EnvOption, OutputOption, YesOption, output_value
from cocusctl.cli.views.cloudrun import deploy_view

if TYPE_CHECKING:
    from cocusctl.core.cloudrun.model import DeployResult
    from cocusctl.core.config import Environment


class TargetChoice(str, Enum):
    cloudrun = "cloudrun"
    gke = "gke"


class StrategyChoice(str, Enum):
    all = "all"
    canary = "canary"


def cloudrun_environment(app_ctx: AppContext, target: str | None = None) -> tuple[Environment, str]:
    """The environment (checked to target Cloud Run) and its service name."""
    from cocusctl.core.errors import NotAvailableError, UsageError

    environment = app_ctx.environment()
    if target is not None and target != environment.target:
        raise UsageError(f"--target {target} does not match environment {environment.name!r}, "
                         f"which targets {environment.target}")
    if environment.target != "cloudrun":
        raise NotAvailableError(f"this command is not available for target {environment.target} yet")
    service = environment.settings.cloudrun.service or app_ctx.loaded.config.service.name
    return environment, service


def infra_phase(app_ctx: AppContext, environment: Environment, image: str | None, skip: bool) -> str:
    """Run the infra phase (Terraform) before the release phase; returns a one-line summary."""
    from cocusctl.core.infra import describe_counts, run_infra_phase

    infra = run_infra_phase(app_ctx.loaded, environment, app_ctx.reporter, app_ctx.confirm,
                            app_ctx.adapters.terraform, image=image, skip=skip)
    if infra.skipped:
        return f"skipped ({infra.reason})"
    counts = describe_counts(infra.plan) if infra.plan is not None else "no changes"
    return f"applied: {counts}" if infra.applied else "up to date"


def deploy_command(
    ctx: typer.Context,
    env: EnvOption = None,
    target: Annotated[
        TargetChoice | None, typer.Option("--target", help="cloudrun or gke (default: the environment's target).")
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="REGISTRY/REPO@sha256:DIGEST (default: the last pushed build)."),
    ] = None,
    strategy: Annotated[
        StrategyChoice | None,
        typer.Option("--strategy", help="all, or canary steps from config (default: cloudrun.strategy)."),
    ] = None,
    skip_infra: Annotated[
        bool, typer.Option("--skip-infra", help="Skip the infra phase (Terraform render, plan, apply).")
    ] = False,
    yes: YesOption = False,
    output: OutputOption = None,
) -> None:
    """Deploy an image by digest: infra phase, new no-traffic revision, smoke test, then traffic.

    Any failure after the release phase starts (not ready, smoke test, health check, timeout, Ctrl-C)
    restores the traffic that served before and exits non-zero.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))
    if yes:
        app_ctx.assume_yes = True

    def action() -> DeployResult:
        from cocusctl.core.cloudrun.deploy import Deployer, DeployPlan
        from cocusctl.core.cloudrun.images import image_from_last_build, parse_image_ref

        ref = parse_image_ref(image) if image is not None else None
        environment, service = cloudrun_environment(app_ctx, target.value if target else None)
        if ref is None:
            out_dir = app_ctx.loaded.resolve_path(app_ctx.loaded.config.output_dir)
            ref = image_from_last_build(out_dir / "last-build.json")
        plan = DeployPlan.from_settings(environment.name, service, ref, environment.settings.cloudrun,
                                        strategy=strategy.value if strategy else None)
        infra = infra_phase(app_ctx, environment, ref.ref, skip_infra)
        api = app_ctx.adapters.cloudrun(environment)
        analyzer = None
        if plan.strategy == "canary":
            from cocusctl.core.cloudrun.canary import canary_analyzer

            analyzer = canary_analyzer(environment.settings.analysis, api, namespace=environment.settings.project,
                                       service=service, prometheus=app_ctx.adapters.prometheus,
                                       reporter=app_ctx.reporter)
        result = Deployer(api, app_ctx.reporter, analyzer=analyzer).deploy(plan)
        result.infra = infra
        return result

    app_ctx.run("deploy", action, deploy_view)

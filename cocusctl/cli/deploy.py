"""`cocusctl deploy`: roll an image (by digest) out to an environment's target."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, YesOption, output_value
from cocusctl.cli.views.release import deploy_view

if TYPE_CHECKING:
    from cocusctl.core.release.results import DeployResult


class TargetChoice(str, Enum):
    cloudrun = "cloudrun"
    gke = "gke"


class StrategyChoice(str, Enum):
    all = "all"
    canary = "canary"


def deploy_command(
    ctx: typer.Context,
    env: EnvOption = None,
    target: Annotated[
        TargetChoice | None, typer.Option("--target", help="cloudrun or gke (default: the environment's target).")
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="REGISTRY/REPO@sha256:DIGEST (default: the last build for this environment)."),
    ] = None,
    strategy: Annotated[
        StrategyChoice | None,
        typer.Option("--strategy", help="all, or canary steps from config (default: release.strategy)."),
    ] = None,
    skip_infra: Annotated[
        bool, typer.Option("--skip-infra", help="Skip the infra phase (Terraform render, plan, apply).")
    ] = False,
    skip_quality_gate: Annotated[
        bool, typer.Option("--skip-quality-gate",
                           help="Move traffic without running the eval set first (recorded in the result).")
    ] = False,
    yes: YesOption = False,
    output: OutputOption = None,
) -> None:
    """Deploy an image by digest: infra phase, new no-traffic revision, smoke test, quality gate, then traffic.

    The quality gate runs the service's eval set on the candidate and on the serving revision and exits 11
    when recall@k, MRR or p95 latency regress (`quality_gate` in cocus.yaml). Any failure after the release
    phase starts (not ready, smoke test, quality gate, health check, timeout, Ctrl-C) restores the traffic
    that served before and exits non-zero.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))
    if yes:
        app_ctx.assume_yes = True

    def action() -> DeployResult:
        from cocusctl.core.release.deploy import deploy
        from cocusctl.core.release.target import check_target

        environment = app_ctx.environment()
        check_target(environment, target.value if target else None)
        return deploy(app_ctx.loaded, environment, app_ctx.release_target, app_ctx.reporter, app_ctx.confirm,
                      app_ctx.adapters.terraform, image=image, strategy=strategy.value if strategy else None,
                      skip_infra=skip_infra, skip_quality_gate=skip_quality_gate)

    app_ctx.run("deploy", action, deploy_view)

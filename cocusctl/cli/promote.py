"""`cocusctl promote --from A --to B`: the digest serving in A, copied by digest to B's registry, deployed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import OutputOption, YesOption, output_value
from cocusctl.cli.views.cloudrun import promote_view

if TYPE_CHECKING:
    from cocusctl.core.cloudrun.model import PromoteResult


def promote_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="Environment to promote from.")],
    dest: Annotated[str, typer.Option("--to", help="Environment to promote to.")],
    revision: Annotated[
        str | None, typer.Option("--revision", help="Revision in --from (default: the one serving 100 %).")
    ] = None,
    skip_infra: Annotated[
        bool, typer.Option("--skip-infra", help="Skip --to's infra phase (Terraform render, plan, apply).")
    ] = False,
    yes: YesOption = False,
    output: OutputOption = None,
) -> None:
    """Promote what serves in one environment to the next: --to's infra phase, copy by digest, then deploy
    with --to's strategy."""
    app_ctx = get_context(ctx, output=output_value(output))
    if yes:
        app_ctx.assume_yes = True

    def action() -> PromoteResult:
        from cocusctl.cli.deploy import cloudrun_environment, infra_phase
        from cocusctl.core.cloudrun.deploy import DeployPlan
        from cocusctl.core.cloudrun.images import parse_image_ref
        from cocusctl.core.cloudrun.operations import promote
        from cocusctl.core.errors import UsageError

        if source == dest:
            raise UsageError("--from and --to name the same environment")
        app_ctx.env_name = source
        env_a, service_a = cloudrun_environment(app_ctx)
        app_ctx.env_name = dest
        env_b, service_b = cloudrun_environment(app_ctx)
        settings_b = env_b.settings.cloudrun
        # Like deploy: B's infrastructure first (Terraform creates a missing service with its bootstrap image).
        infra = infra_phase(app_ctx, env_b, None, skip_infra)
        result = promote(
            api_a=app_ctx.adapters.cloudrun(env_a),
            api_b=app_ctx.adapters.cloudrun(env_b),
            reporter=app_ctx.reporter,
            env_a=env_a.name,
            env_b=env_b.name,
            service_a=service_a,
            copier=app_ctx.adapters.registry(env_a.registry),
            registry_b=env_b.registry,
            make_plan=lambda ref: DeployPlan.from_settings(env_b.name, service_b, parse_image_ref(ref), settings_b),
            revision=revision,
        )
        result.deploy.infra = infra
        return result

    app_ctx.run("promote", action, promote_view)

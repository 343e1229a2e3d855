"""`cocusctl promote --from A --to B`: the digest serving in A, copied by digest to B's registry, deployed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import OutputOption, YesOption, output_value
from cocusctl.cli.views.release import promote_view

if TYPE_CHECKING:
    from cocusctl.core.release.results import PromoteResult


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
        from cocusctl.core.release.promote import promote_environments

        env_a, env_b = app_ctx.environment(source), app_ctx.environment(dest)
        return promote_environments(app_ctx.loaded, env_a, env_b, app_ctx.release_target,
                                    app_ctx.adapters.registry(env_a.registry), app_ctx.reporter, app_ctx.confirm,
                                    app_ctx.adapters.terraform, revision=revision, skip_infra=skip_infra)

    app_ctx.run("promote", action, promote_view)

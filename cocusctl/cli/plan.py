"""`cocusctl plan`."""

from __future__ import annotations

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, InitialImageOption, OutputOption, output_value
from cocusctl.cli.views.infra import plan_view


def plan_command(
    ctx: typer.Context,
    env: EnvOption = None,
    image: InitialImageOption = None,
    output: OutputOption = None,
) -> None:
    """Render, init and plan the environment's Terraform; summarise the changes.

    The saved plan stays in OUTPUT_DIR/terraform/ENV/tfplan. Exit codes: 0 no changes; 12 changes pending;
    4 terraform failed; 10 the state lock stayed held past infra.lock_timeout_s; 2 bad config; 3 no terraform.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> object:
        from cocusctl.core.errors import ChangesPending
        from cocusctl.core.infra import describe_counts, plan_environment

        summary, _, _ = plan_environment(
            app_ctx.loaded, app_ctx.environment(), app_ctx.reporter, app_ctx.adapters.terraform, image=image
        )
        if summary.has_changes:
            raise ChangesPending(
                f"changes pending for {summary.environment}: {describe_counts(summary)}",
                hint="`cocusctl deploy` applies them after confirmation",
                result=summary,
            )
        return summary

    app_ctx.run("plan", action, plan_view)

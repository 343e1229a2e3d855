"""`cocusctl rollback`: traffic back to the previous serving revision (or --to REVISION)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.release import traffic_view

if TYPE_CHECKING:
    from cocusctl.core.release.results import TrafficResult


def rollback_command(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option("--to", help="Revision to roll back to (default: the previous one).")] = None,
    env: EnvOption = None,
    output: OutputOption = None,
) -> None:
    """Send all traffic back to the previous serving revision."""
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> TrafficResult:
        return app_ctx.release_target(app_ctx.environment()).rollback(to)

    app_ctx.run("rollback", action, traffic_view)

"""`cocusctl status`: URL, revisions, traffic and tags of an environment (target-neutral JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.release import status_view

if TYPE_CHECKING:
    from cocusctl.core.release.results import StatusResult


def status_command(ctx: typer.Context, env: EnvOption = None, output: OutputOption = None) -> None:
    """Show the service URL, revisions, traffic and tags of an environment."""
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> StatusResult:
        return app_ctx.release_target(app_ctx.environment()).status()

    app_ctx.run("status", action, status_view)

"""`cocusctl status`: URL, revisions, traffic and tags of an environment (target-neutral JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.cloudrun import status_view

if TYPE_CHECKING:
    from cocusctl.core.cloudrun.model import StatusResult


def status_command(ctx: typer.Context, env: EnvOption = None, output: OutputOption = None) -> None:
    """Show the service URL, revisions, traffic and tags of an environment."""
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> StatusResult:
        from cocusctl.cli.deploy import cloudrun_environment
        from cocusctl.core.cloudrun.operations import status

        environment, service = cloudrun_environment(app_ctx)
        api = app_ctx.adapters.cloudrun(environment)
        result = status(api, environment.name, service)
        if api.is_emulator:
            from cocusctl.core.observability.stack import where

            result.monitoring = where()
        return result

    app_ctx.run("status", action, status_view)

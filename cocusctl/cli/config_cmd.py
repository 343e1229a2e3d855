"""`cocusctl config show|check|schema`."""

from __future__ import annotations

import json

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.config import config_view, contract_view

app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True, rich_markup_mode=None)


@app.command("show")
def show(ctx: typer.Context, env: EnvOption = None, output: OutputOption = None) -> None:
    """Print the resolved config with the source of each value; secrets redacted."""
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> object:
        from cocusctl.core.config_report import describe_config

        return describe_config(app_ctx.loaded, app_ctx.env_name)

    app_ctx.run("config show", action, config_view)


@app.command("check")
def check(ctx: typer.Context, env: EnvOption = None, output: OutputOption = None) -> None:
    """Check every environment (or only --env) against the settings the service publishes.

    Every variable a revision is given must be one the service reads, of its type, secrets from Secret
    Manager; every required one must be given. Exit 0 when they agree, 2 naming each environment and field.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> object:
        from cocusctl.core.contract import check_contract
        from cocusctl.core.errors import ConfigError

        loaded = app_ctx.loaded
        names = [app_ctx.env_name] if app_ctx.env_name else list(loaded.config.environments)
        report = check_contract(loaded, [loaded.environment(name) for name in names])
        if not report.ok:
            raise ConfigError(f"{len(report.problems)} setting(s) disagree with what the service reads: "
                              f"{report.problems[0]}", result=report)
        return report

    app_ctx.run("config check", action, contract_view)


@app.command("schema")
def schema(ctx: typer.Context) -> None:
    """Print the JSON Schema of cocus.yaml (for editor completion)."""
    from cocusctl.core.config import config_json_schema

    typer.echo(json.dumps(config_json_schema(), indent=2))

"""The `cocusctl` command line: the root app, its global options, and the one place commands are registered.

Command modules stay thin and import heavy code only inside their functions, so `cocusctl --help` is fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cocusctl import __version__
from cocusctl.cli import (
    build,
    ci,
    cluster,
    config_cmd,
    deploy,
    doctor,
    emulator,
    harden,
    monitoring,
    plan,
    promote,
    render,
    rollback,
    scan,
    secrets,
    status,
    traffic,
)
from cocusctl.cli.context import AppContext
from cocusctl.cli.options import OutputFormat
from cocusctl.core.errors import EXIT_CODE_HELP

EXIT_CODES_EPILOG = "Exit codes: " + "; ".join(f"{int(code)} {text}" for code, text in EXIT_CODE_HELP.items())

app = typer.Typer(
    name="cocusctl",
    help="Build, scan, push, deploy, promote and split traffic for the cocus RAG service on Google Cloud.",
    epilog=EXIT_CODES_EPILOG,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cocusctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar="COCUSCTL_CONFIG", help="Config file (default: ./cocus.yaml)."),
    ] = None,
    env: Annotated[
        str | None, typer.Option("--env", "-e", envvar="COCUSCTL_ENV", help="Environment from cocus.yaml.")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", envvar="COCUSCTL_OUTPUT", help="human or json.")
    ] = OutputFormat.human,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail; tracebacks (also COCUSCTL_DEBUG=1).")
    ] = 0,
    no_color: Annotated[
        bool, typer.Option("--no-color", envvar="COCUSCTL_NO_COLOR", help="No colours (NO_COLOR is honoured too).")
    ] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    if os.environ.get("COCUSCTL_DEBUG", "") not in ("", "0", "false"):
        verbose = max(verbose, 1)
    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO, format="%(name)s: %(message)s")
    ctx.obj = AppContext(config_path=config, env_name=env, output=output.value, verbose=verbose, no_color=no_color)


# Lifecycle, in the order a user meets it.
app.command("build", help=build.build_command.__doc__)(build.build_command)
app.command("scan", help=scan.scan_command.__doc__)(scan.scan_command)
app.command("render", help=render.render_command.__doc__)(render.render_command)
app.command("plan", help=plan.plan_command.__doc__)(plan.plan_command)
app.command("deploy", help=deploy.deploy_command.__doc__)(deploy.deploy_command)
app.command("split-traffic", help=traffic.split_traffic_command.__doc__)(traffic.split_traffic_command)
app.command("promote", help=promote.promote_command.__doc__)(promote.promote_command)
app.command("rollback", help=rollback.rollback_command.__doc__)(rollback.rollback_command)
app.command("status", help=status.status_command.__doc__)(status.status_command)
# On-prem servers.
app.command("harden", help=harden.harden_command.__doc__)(harden.harden_command)
# Tools and set-up.
app.add_typer(emulator.app, name="emulator")
app.add_typer(cluster.app, name="cluster")
app.add_typer(monitoring.app, name="monitoring")
app.add_typer(secrets.app, name="secrets")
app.add_typer(config_cmd.app, name="config")
app.add_typer(ci.app, name="ci")
app.command("doctor", help=doctor.doctor_command.__doc__)(doctor.doctor_command)


def main() -> None:
    app()

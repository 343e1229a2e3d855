"""`cocusctl monitoring`: the service's Prometheus rules and Grafana dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import OutputOption, output_value
from cocusctl.cli.views.monitoring import render_view, stack_view

app = typer.Typer(help="Prometheus rules, Grafana dashboards and local monitoring.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command("render")
def render(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 12 when a generated file is missing or differs.")
    ] = False,
    slo_file: Annotated[
        Path | None, typer.Option("--slo", help="The SLO file; the files are generated beside it (default: observability/slo.yaml).")
    ] = None,
    output: OutputOption = None,
) -> None:
    """Generate the Prometheus rules and Grafana dashboards from the SLO file (observability/).

    Exit codes: 0 written (or, with --check, up to date); 12 with --check when a file is missing or differs.
    """
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> object:
        from cocusctl.core.errors import ChangesPending
        from cocusctl.core.observability.assets import render_assets
        from cocusctl.core.observability.slo import SLO_FILE

        result = render_assets(check=check, slo_file=slo_file or SLO_FILE)
        if check and result.changed:
            raise ChangesPending(
                f"{len(result.changed)} generated file(s) out of date: "
                + ", ".join(Path(f.path).name for f in result.changed),
                hint="run `cocusctl monitoring render` and commit the result", result=result)
        return result

    app_ctx.run("monitoring render", action, render_view)


HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="COCUS_MONITORING_HOME",
                 help="Directory for configs, data, logs and target files (default ~/.cache/cocusctl/monitoring)."),
]


@app.command("start")
def start(ctx: typer.Context, home: HomeOption = None, output: OutputOption = None) -> None:
    """Start Prometheus (with the service's rules), Alertmanager and node-exporter on 127.0.0.1.

    Prometheus discovers every emulator revision (and every pod of the local cluster) from the target files
    the platforms write; returns once all three answer and prints where they are.
    """
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> object:
        from cocusctl.core.observability import stack

        return stack.start(home)

    app_ctx.run("monitoring start", action, stack_view)


@app.command("stop")
def stop(ctx: typer.Context, home: HomeOption = None, output: OutputOption = None) -> None:
    """Stop the monitoring processes this home started (nothing else)."""
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> object:
        from cocusctl.core.observability import stack

        return stack.stop(home)

    app_ctx.run("monitoring stop", action, stack_view)


@app.command("status")
def status(ctx: typer.Context, home: HomeOption = None, output: OutputOption = None) -> None:
    """Where Prometheus and Alertmanager run, how many targets are up, which alerts fire (exit 3: not running)."""
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> object:
        from cocusctl.core.errors import NotAvailableError
        from cocusctl.core.observability import discovery, stack

        result = stack.status(home)
        if result is None:
            where = (home or discovery.default_home()).resolve()
            raise NotAvailableError("local monitoring is not running", hint="start it: cocusctl monitoring start",
                                    result=stack.MonitoringResult(running=False, home=str(where),
                                                                  targets_dir=str(discovery.targets_dir(where))))
        return result

    app_ctx.run("monitoring status", action, stack_view)

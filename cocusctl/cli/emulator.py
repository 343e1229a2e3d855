"""`cocusctl emulator start|stop|status`: the local Cloud Run Admin API emulator."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import OutputOption, output_value
from cocusctl.core.errors import NotAvailableError

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.emulator.process import EmulatorResult

app = typer.Typer(help="Run the local Cloud Run emulator.", no_args_is_help=True, rich_markup_mode=None)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="COCUS_EMULATOR_HOME",
                 help="Directory for the emulator's state, PID and log (default ~/.cache/cocusctl/emulator)."),
]


def _view(console: Console, r: EmulatorResult) -> None:
    if r.stopped:
        console.print(f"emulator stopped (pid {r.pid})")
    elif not r.running:
        console.print("emulator not running")
    else:
        verb = "started" if r.started else "running"
        console.print(f"emulator {verb}: {r.endpoint} (pid {r.pid}, state {r.state_dir})")
        console.print(f"use it with:  cloudrun: {{api_endpoint: {r.endpoint}}}  (or api_endpoint: emulator)")


@app.command("start")
def start(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", "-p", envvar="COCUS_EMULATOR_PORT",
                                      help="API port on 127.0.0.1 (0 = any free port).")] = 9280,
    home: HomeOption = None,
    output: OutputOption = None,
) -> None:
    """Start the emulator in the background; returns once it serves and prints its endpoint."""
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> EmulatorResult:
        from cocusctl.emulator import process

        info, started = process.start(port=port, home=home)
        return process.EmulatorResult.of(info, started=started)

    app_ctx.run("emulator start", action, _view)


@app.command("stop")
def stop(ctx: typer.Context, home: HomeOption = None, output: OutputOption = None) -> None:
    """Stop the emulator started from this home directory (and the revision containers it runs)."""
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> EmulatorResult:
        from cocusctl.emulator import process

        pid = process.stop(home)
        return process.EmulatorResult(running=False, stopped=pid is not None, pid=pid)

    app_ctx.run("emulator stop", action, _view)


@app.command("status")
def status(ctx: typer.Context, home: HomeOption = None, output: OutputOption = None) -> None:
    """Show whether the emulator runs, and its endpoint (exit 3 when it does not run)."""
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> EmulatorResult:
        from cocusctl.emulator import process

        info = process.status(home)
        if info is None:
            raise NotAvailableError("the emulator is not running", hint="start it with `cocusctl emulator start`",
                                    result=process.EmulatorResult(running=False))
        return process.EmulatorResult.of(info)

    app_ctx.run("emulator status", action, _view)

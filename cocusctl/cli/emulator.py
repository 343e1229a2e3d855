"""`cocusctl emulator`: the local Cloud Run Admin API emulator."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet

app = typer.Typer(help="Run the local Cloud Run emulator.", no_args_is_help=True, rich_markup_mode=None)


@app.command("start")
def start(ctx: typer.Context) -> None:
    """Start the emulator in the background and print its endpoint."""
    not_yet(ctx, "emulator start", 4)

"""`cocusctl status`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def status_command(ctx: typer.Context) -> None:
    """Show the service URL, revisions, traffic and tags of an environment."""
    not_yet(ctx, "status", 4)

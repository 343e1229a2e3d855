"""`cocusctl rollback`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def rollback_command(ctx: typer.Context) -> None:
    """Send traffic back to the previous serving revision."""
    not_yet(ctx, "rollback", 4)

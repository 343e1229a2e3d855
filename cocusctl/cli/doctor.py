"""`cocusctl doctor`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def doctor_command(ctx: typer.Context) -> None:
    """Check that everything the chosen environment needs is present."""
    not_yet(ctx, "doctor", 2)

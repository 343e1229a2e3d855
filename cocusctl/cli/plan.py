"""`cocusctl plan`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def plan_command(ctx: typer.Context) -> None:
    """Render, init and plan the environment's Terraform; summarise the changes."""
    not_yet(ctx, "plan", 5)

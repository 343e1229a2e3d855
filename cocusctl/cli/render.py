"""`cocusctl render`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def render_command(ctx: typer.Context) -> None:
    """Render the environment's Terraform inputs (and Helm values) from templates."""
    not_yet(ctx, "render", 5)

"""`cocusctl build`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def build_command(ctx: typer.Context) -> None:
    """Build the service image, scan it with Trivy, and push it by digest."""
    not_yet(ctx, "build", 2)

"""`cocusctl scan`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def scan_command(ctx: typer.Context) -> None:
    """Apply the scan gate to an image or a saved Trivy JSON report."""
    not_yet(ctx, "scan", 2)

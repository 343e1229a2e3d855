"""`cocusctl promote`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def promote_command(ctx: typer.Context) -> None:
    """Promote the digest serving in one environment to another."""
    not_yet(ctx, "promote", 4)

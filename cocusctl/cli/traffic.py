"""`cocusctl split-traffic`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def split_traffic_command(ctx: typer.Context) -> None:
    """Split traffic between revisions or tags (canary / blue-green)."""
    not_yet(ctx, "split-traffic", 4)

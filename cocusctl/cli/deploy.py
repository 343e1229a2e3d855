"""`cocusctl deploy`."""

from __future__ import annotations

import typer

from cocusctl.cli.pending import not_yet


def deploy_command(ctx: typer.Context) -> None:
    """Deploy an image by digest: infra phase, new revision, smoke test, traffic."""
    not_yet(ctx, "deploy", 4)

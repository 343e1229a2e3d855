"""Commands whose implementation has not landed yet say so honestly (exit NOT_AVAILABLE)."""

from __future__ import annotations

import typer

from cocusctl.cli.context import get_context
from cocusctl.core.errors import NotAvailableError


def not_yet(ctx: typer.Context, command: str, issue: int) -> None:
    def action() -> None:
        raise NotAvailableError(f"'{command}' is not implemented yet (tracked in issue #{issue})")

    get_context(ctx).run(command, action)

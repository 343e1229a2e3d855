"""`cocusctl status`: URL, revisions, traffic and tags of an environment (target-neutral JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.cloudrun.model import StatusResult


def status_view(console: Console, r: StatusResult) -> None:
    from rich.table import Table

    from cocusctl.cli.deploy import traffic_table

    if not r.exists:
        console.print(f"{r.service} ({r.environment}, {r.target}): not deployed")
        return
    ready = {True: "ready", False: "NOT READY", None: "reconciling"}[r.ready]
    console.print(f"{r.service} ({r.environment}, {r.target}): {ready}  {r.url}")
    for c in r.conditions:
        if c.state != "SUCCEEDED" and c.message:
            console.print(f"  {c.type}: {c.state}: {c.message.splitlines()[0]}")
    table = Table(title="revisions", title_justify="left")
    for col in ("revision", "ready", "traffic", "tags", "digest", "created", "requests"):
        table.add_column(col)
    for rev in r.revisions:
        table.add_row(
            rev.name, {True: "yes", False: "FAILED", None: "..."}[rev.ready], f"{rev.percent}%",
            ",".join(rev.tags), (rev.digest or rev.image)[:19], (rev.created or "")[:19],
            "" if rev.requests is None else str(rev.requests),
        )
    console.print(table)
    traffic_table(console, "traffic", r.traffic)


def status_command(ctx: typer.Context, env: EnvOption = None, output: OutputOption = None) -> None:
    """Show the service URL, revisions, traffic and tags of an environment."""
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> StatusResult:
        from cocusctl.cli.deploy import cloudrun_environment
        from cocusctl.core.cloudrun.operations import status

        environment, service = cloudrun_environment(app_ctx)
        return status(app_ctx.adapters.cloudrun(environment), environment.name, service)

    app_ctx.run("status", action, status_view)

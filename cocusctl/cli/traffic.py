"""`cocusctl split-traffic`: set the traffic split of a service (validated before anything changes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.release import traffic_view

if TYPE_CHECKING:
    from cocusctl.core.release.results import TrafficResult


def split_traffic_command(
    ctx: typer.Context,
    assignments: Annotated[
        list[str] | None, typer.Argument(help="REVISION=PERCENT or TAG=PERCENT pairs summing to 100.")
    ] = None,
    to_latest: Annotated[bool, typer.Option("--to-latest", help="Send 100 % to the latest ready revision.")] = False,
    env: EnvOption = None,
    output: OutputOption = None,
) -> None:
    """Split traffic between revisions (by name or tag); shows before/after, applies, verifies."""
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> TrafficResult:
        from cocusctl.core.cloudrun import traffic as tr

        if assignments and not to_latest:
            tr.parse_assignments(list(assignments))  # bad input fails before any config or API work
        target = app_ctx.release_target(app_ctx.environment())
        return target.split_traffic(list(assignments or []), to_latest=to_latest)

    app_ctx.run("split-traffic", action, traffic_view)

"""Human views of `cocusctl monitoring`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.observability.assets import MonitoringRenderResult


def render_view(console: Console, result: MonitoringRenderResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    verb = "checked" if result.check else "rendered"
    table = Table(title=f"{verb} from {result.slo_file}", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("kind")
    table.add_column("status")
    for item in result.files:
        style = "" if item.status == "unchanged" else "bold yellow"
        table.add_row(escape(item.path), item.kind, f"[{style}]{item.status}[/]" if style else item.status)
    console.print(table)

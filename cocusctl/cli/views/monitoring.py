"""Human views of `cocusctl monitoring`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.observability.assets import MonitoringRenderResult
    from cocusctl.core.observability.stack import MonitoringResult


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


def stack_view(console: Console, r: MonitoringResult) -> None:
    if r.stopped:
        console.print(f"stopped: {', '.join(r.stopped)} ({r.home})")
        return
    if not r.running:
        console.print(f"local monitoring not running ({r.home})")
        return
    console.print(f"local monitoring {'started' if r.started else 'running'} ({r.home})")
    console.print(f"  prometheus     {r.prometheus_url}")
    console.print(f"  rules          {r.rules_file}")
    console.print(f"  alertmanager   {r.alertmanager_url}")
    console.print(f"  node-exporter  {r.node_exporter_url}")
    console.print(f"  targets from   {r.targets_dir}/*.json")
    if r.targets_up is not None:
        console.print(f"  targets        {r.targets_up} up, {r.targets_down} down")
        console.print("  alerts firing  " + ("none" if not r.alerts_firing else ""))
        for alert in r.alerts_firing:
            console.print(f"    {alert}")

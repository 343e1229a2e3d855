"""Human view of `cocusctl harden`: one row per host."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.harden import HardenResult

_STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "unreachable": "bold red"}


def harden_view(console: Console, result: HardenResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    mode = "check " if result.check else ""
    table = Table(title=f"harden {mode}{result.inventory} (ansible-core {result.ansible_version})",
                  title_justify="left")
    for column in ("host", "status", "ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(column, justify="right" if column not in ("host", "status") else "left")
    table.add_column("first error", overflow="fold")
    for host in result.hosts:
        style = _STYLE[host.status]
        table.add_row(
            escape(host.host), f"[{style}]{host.status}[/]", str(host.ok), str(host.changed), str(host.failed),
            str(host.unreachable), str(host.skipped), escape(host.message or ""),
        )
    console.print(table)

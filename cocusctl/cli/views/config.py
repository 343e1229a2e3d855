from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.config_report import ConfigReport


def config_view(console: Console, report: ConfigReport) -> None:
    from rich.table import Table

    table = Table(title=f"config ({report.config_file or 'defaults only'}; environment {report.environment})")
    table.add_column("key")
    table.add_column("value", overflow="fold")
    table.add_column("source", style="dim")
    for item in report.values:
        table.add_row(item.path, json.dumps(item.value), item.source)
    console.print(table)

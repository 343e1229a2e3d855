from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.config_report import ConfigReport
    from cocusctl.core.contract import ContractReport


def config_view(console: Console, report: ConfigReport) -> None:
    from rich.table import Table

    table = Table(title=f"config ({report.config_file or 'defaults only'}; environment {report.environment})")
    table.add_column("key")
    table.add_column("value", overflow="fold")
    table.add_column("source", style="dim")
    for item in report.values:
        table.add_row(item.path, json.dumps(item.value), item.source)
    console.print(table)


def contract_view(console: Console, report: ContractReport) -> None:
    if report.service is None:
        console.print("the service publishes no settings contract (service.settings_contract: none); nothing checked")
        return
    checked = ", ".join(report.environments)
    if report.ok:
        console.print(f"{checked}: every variable is one {report.service} reads, every required one is given",
                      markup=False)
        console.print(f"contract: {report.schema_source}", markup=False)
        return
    from rich.table import Table

    table = Table(title=f"{report.service} settings contract: {len(report.problems)} problem(s)")
    table.add_column("environment")
    table.add_column("field")
    table.add_column("problem", overflow="fold")
    for problem in report.problems:
        table.add_row(problem.environment, problem.field, problem.message)
    console.print(table)

"""Human view of `cocusctl doctor`: one table, a fix for every failed row."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.doctor import DoctorReport


def doctor_view(console: Console, report: DoctorReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"cocusctl doctor (environment {report.environment or '?'})")
    table = Table("check", "status", "detail", "how to fix")
    for check in report.checks:
        if check.ok:
            status = "[green]ok[/]"
        elif check.required:
            status = "[bold red]MISSING[/]"
        else:
            status = "[yellow]absent[/] (not required)"
        # Details and fixes are plain text: `pip install 'cocusctl[onprem]'` must not be read as markup.
        table.add_row(check.name, status, escape(check.detail), "" if check.ok else escape(check.fix or ""))
    console.print(table)

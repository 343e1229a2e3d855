"""Human view of a build: image, tags, size against budget, scan gate, pushed digest, report paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cocusctl.cli.views.scan import scan_view

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.build import BuildResult


def build_view(console: Console, result: BuildResult) -> None:
    from rich.table import Table

    if result.scan is not None:
        scan_view(console, result.scan)
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("image", result.image)
    table.add_row("tags", ", ".join(result.tags) + ("  (tree is dirty)" if result.dirty else ""))
    if result.image_id:
        table.add_row("image id", result.image_id)
    if result.size_mb is not None:
        table.add_row("size", f"{result.size_mb:.1f} MB (budget {result.size_budget_mb} MB)")
    if result.scan is not None:
        verdict = "pass" if result.scan.passed else "FAIL"
        table.add_row("scan", "\n".join([verdict, *result.scan.coverage]))
    if result.reports is not None:
        for label, path in (("report", result.reports.trivy_json), ("sarif", result.reports.sarif),
                            ("sbom", result.reports.sbom)):
            if path:
                table.add_row(label, path)
    if result.pushed_ref:
        table.add_row("pushed", result.pushed_ref)
    elif result.push_skipped:
        table.add_row("pushed", "skipped (--no-push)")
    console.print(table)

"""Human view of `cocusctl ci render`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cocusctl.cli.views.infra import rendered_files_table

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.workflows import CiRenderResult


def ci_render_view(console: Console, result: CiRenderResult) -> None:
    verb = "checked" if result.check else "rendered"
    rendered_files_table(console, f"{verb} {result.provider} workflows -> {result.out_dir}", result.files)
    chain = " -> ".join(result.release) or "none (ci.release is empty: no release workflow)"
    console.print(f"release: {chain}")

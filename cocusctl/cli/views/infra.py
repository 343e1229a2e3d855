"""Human views of render results, plan summaries and the infra phase."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.infra import PlanSummary
    from cocusctl.core.render import RenderedFile, RenderResult
    from cocusctl.core.secrets import SecretVersionResult

_STYLE = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red"}


def rendered_files_table(console: Console, title: str, files: list[RenderedFile]) -> None:
    """One row per rendered file: path, template, status (changes highlighted)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("template")
    table.add_column("status")
    for item in files:
        style = "" if item.status == "unchanged" else "bold yellow"
        table.add_row(escape(item.path), item.template, f"[{style}]{item.status}[/]" if style else item.status)
    console.print(table)


def render_view(console: Console, result: RenderResult) -> None:
    verb = "checked" if result.check else "rendered"
    rendered_files_table(console, f"{verb} {result.environment} ({result.target}) -> {result.out_dir}", result.files)
    if result.root_module:
        console.print(f"root module: {result.root_module}")


def plan_view(console: Console, summary: PlanSummary) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cocusctl.core.infra import describe_counts

    title = f"plan {summary.environment}: {describe_counts(summary) if summary.has_changes else 'no changes'}"
    if summary.changes:
        table = Table(title=title, title_justify="left")
        table.add_column("action")
        table.add_column("resource", overflow="fold")
        table.add_column("reason", style="dim")
        for change in summary.changes:
            style = _STYLE.get(change.action, "")
            table.add_row(f"[{style}]{change.action}[/]", escape(change.address), change.reason or "")
        console.print(table)
    else:
        console.print(title)
    if summary.output_changes:
        console.print(f"outputs changing: {', '.join(summary.output_changes)}")
    if summary.drift:
        drift = Table(title="drift: changed outside Terraform (kept apart from the plan)", title_justify="left")
        drift.add_column("action")
        drift.add_column("resource")
        for change in summary.drift:
            drift.add_row(change.action, escape(change.address))
        console.print(drift)
    console.print(f"saved plan: {summary.plan_file}")


def secret_view(console: Console, result: SecretVersionResult) -> None:
    where = f"{result.project}, local secret store" if result.store == "local" else result.project
    if result.created:
        console.print(f"added version {result.version} of {result.secret} ({where})", markup=False)
    else:
        console.print(f"version {result.version} of {result.secret} already holds this value ({where})",
                      markup=False)
    if result.needs_pin:
        console.print(
            f"pin it: revision.secrets {', '.join(result.env_vars)} {result.secret} version: \"{result.version}\" "
            f"(now {result.pinned_version})",
            markup=False,
        )

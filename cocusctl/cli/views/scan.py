"""Human view of the scan gate: counts by severity, then the failing, unfixed and accepted findings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.image_scan import ScanRun
    from cocusctl.core.scan import Finding, ScanSummary

_ROWS = (
    ("vulnerability", "vulnerabilities"),
    ("os_update", "OS security updates pending"),
    ("secret", "secrets"),
    ("misconfig", "misconfigurations"),
)
_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


def scan_view(console: Console, summary: ScanSummary) -> None:
    from rich.table import Table

    verdict = "[bold green]PASS[/]" if summary.passed else "[bold red]FAIL[/]"
    suffix = "" if summary.vulnerabilities_checked else " - vulnerabilities NOT checked"
    console.print(f"Scan gate: {verdict}{suffix}" + (f"  ({summary.artifact})" if summary.artifact else ""))
    table = Table("findings", *_SEVERITIES)
    for kind, label in _ROWS:
        if kind == "vulnerability" and not summary.vulnerabilities_checked:
            table.add_row(f"{label} (NOT checked)", *(["-"] * len(_SEVERITIES)))
            continue
        if kind == "os_update" and not (summary.os_updates and summary.os_updates.checked):
            continue
        table.add_row(label, *(str(summary.counts[kind][sev]) for sev in _SEVERITIES))  # type: ignore[index]
    console.print(table)
    for line in summary.coverage:
        console.print(f"checked: {line}", markup=False)
    _findings(console, "Failing findings", summary.failing)
    _findings(console, "Unfixed (listed, not failed)", summary.unfixed)
    _findings(console, "Warnings (listed by the policy, not failed)", summary.warnings)
    _findings(console, "Accepted", summary.accepted)
    for note in summary.notes:
        console.print(f"note: {note}")


def _findings(console: Console, title: str, findings: list[Finding]) -> None:
    from rich.table import Table

    if not findings:
        return
    console.print(f"{title}:")
    table = Table("kind", "id", "severity", "where", "fixed in" if title != "Accepted" else "reason")
    for f in findings:
        where = f"{f.package} {f.installed_version}" if f.package else f.target
        last = f.reason if title == "Accepted" else (f.fixed_version or "-")
        table.add_row(f.kind, f.id, f.severity, where, last or "-")
    console.print(table)


def scan_run_view(console: Console, run: ScanRun) -> None:
    scan_view(console, run.scan)
    if run.reports is not None:
        for label, path in (("report", run.reports.trivy_json), ("sarif", run.reports.sarif),
                            ("sbom", run.reports.sbom)):
            if path:
                console.print(f"{label}: {path}")

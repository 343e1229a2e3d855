"""Scanning an image with Trivy and judging it: what `cocusctl build` and `cocusctl scan` share.

`scan_image` writes the reports (Trivy JSON, SARIF, CycloneDX SBOM, gate.json) and applies the gate of
`core.scan`; `gate_saved_report` and `scan_local_image` are the two forms of the `scan` command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from cocusctl.core.config import AcceptedFinding, Environment, LoadedConfig, ScanPolicy
from cocusctl.core.errors import NotAvailableError, ScanGateError, ToolError
from cocusctl.core.os_updates import SecuritySuite, check_report, sarif_run
from cocusctl.core.reporting import Reporter, tool_log
from cocusctl.core.scan import (
    ScanSummary,
    VulnDbUnavailable,
    evaluate,
    findings_from_report,
    gate_message,
    gate_report,
    load_accepted,
    load_report,
)


class ImageFacts(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def size(self) -> int: ...


class ImageSource(Protocol):
    """The local engine, as far as a scan needs it: does the image exist?"""

    def image(self, ref: str) -> ImageFacts: ...


class Scanner(Protocol):
    def scan_image(
        self,
        image: str,
        report: Path,
        *,
        scanners: Any = ...,
        input_tar: Path | None = None,
        skip_db_update: bool = False,
        timeout: float | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> list[str]: ...

    def scan_config(self, path: Path, report: Path, *, timeout: float | None = None) -> None: ...

    def convert(self, report: Path, fmt: str, output: Path, *, timeout: float = ...) -> Path: ...


class ReportPaths(BaseModel):
    dir: str
    trivy_json: str | None = None
    sarif: str | None = None
    sbom: str | None = None
    gate: str | None = None
    dockerfile_json: str | None = None


class ScanRun(BaseModel):
    """What `cocusctl scan` returns: the gate's summary and, for an image scan, the report paths."""

    scan: ScanSummary
    reports: ReportPaths | None = None


def scan_image(
    scanner: Scanner,
    ref: str,
    out: Path,
    policy: ScanPolicy,
    *,
    accepted: list[AcceptedFinding],
    allow_missing_vuln_db: bool,
    reporter: Reporter,
    dockerfile: Path | None = None,
    os_suite: SecuritySuite | None = None,
) -> ScanRun:
    """Scan a local image into `out/` (Trivy JSON, SARIF, CycloneDX SBOM, gate.json) and judge it.

    When the vulnerability DB is unavailable this raises `VulnDbUnavailable`, unless the flag or the
    policy allows going on; then only secrets and misconfigurations are scanned and the summary says
    vulnerabilities were NOT checked (the SBOM is complete either way: it does not need the DB).
    With the source `dockerfile`, it is scanned for misconfigurations too: Trivy cannot rebuild a Dockerfile
    from the history of many images (exec-form HEALTHCHECK, LABEL values with spaces) and then silently
    skips those checks — without the source that is an error, never a silent pass.
    With `os_suite` (and `policy.os_updates` not off), a Debian image's packages are compared with its
    release's security suite: each pending update is a finding, whether or not Trivy has its DB.
    """
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "trivy.json"
    timeout = float(policy.timeout_s)
    reporter.step(f"Scanning {ref} with Trivy (vulnerabilities, secrets, misconfigurations)")
    vulns_checked = True
    try:
        with tool_log(reporter, out / "trivy-image.log") as sink:
            history_errors = scanner.scan_image(ref, report_path, timeout=timeout, on_line=sink)
    except VulnDbUnavailable as exc:
        if not (allow_missing_vuln_db or policy.allow_missing_vuln_db):
            raise
        vulns_checked = False
        reporter.warn(f"{exc.message}: vulnerabilities will NOT be checked (allowed explicitly)")
        with tool_log(reporter, out / "trivy-image.log") as sink:
            history_errors = scanner.scan_image(
                ref, report_path, scanners=("secret", "misconfig"), timeout=timeout, on_line=sink
            )
    reports = ReportPaths(dir=str(out), trivy_json=str(report_path))
    report = load_report(report_path)
    findings = findings_from_report(report)
    os_check = None
    if os_suite is not None and policy.os_updates != "off":
        reporter.step(f"Comparing the OS packages of {ref} with its Debian security suite")
        os_check = check_report(report, os_suite)
    if dockerfile is not None:
        reporter.step(f"Scanning {dockerfile.name} (the source of {ref}) for misconfigurations")
        dockerfile_report = out / "dockerfile.json"
        scanner.scan_config(dockerfile, dockerfile_report, timeout=timeout)
        reports.dockerfile_json = str(dockerfile_report)
        # The same check can fail on the image's history and on its source: count it once.
        source_findings = findings_from_report(load_report(dockerfile_report))
        seen = {(f.kind, f.id) for f in source_findings}
        findings = [f for f in findings if (f.kind, f.id) not in seen] + source_findings
    elif history_errors:
        raise ToolError(
            "trivy", [], 0, "\n".join(history_errors),
            message="Trivy could not rebuild the image's Dockerfile from its history, so its configuration was "
            f"NOT checked for misconfigurations ({history_errors[0]})",
            hint="scan the image through `cocusctl build`, which also scans the source Dockerfile",
        )
    reports.sarif = str(scanner.convert(report_path, "sarif", out / "trivy.sarif"))
    reports.sbom = str(scanner.convert(report_path, "cyclonedx", out / "sbom.cdx.json"))
    summary = evaluate(
        findings,
        policy,
        vulnerabilities_checked=vulns_checked,
        allow_missing_vuln_db=allow_missing_vuln_db,
        accepted=accepted,
        artifact=ref,
        os_check=os_check,
    )
    if os_check is not None and os_check.pending:
        sarif = json.loads(Path(reports.sarif).read_text(encoding="utf-8"))
        sarif.setdefault("runs", []).append(sarif_run(os_check, ref, failing=policy.os_updates == "fail"))
        Path(reports.sarif).write_text(json.dumps(sarif, indent=2) + "\n", encoding="utf-8")
    reports.gate = str(out / "gate.json")
    (out / "gate.json").write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    for note in summary.notes:
        reporter.warn(note)
    if summary.passed:
        reporter.success(f"Scan gate passed ({len(summary.unfixed)} unfixed, {len(summary.accepted)} accepted)")
    return ScanRun(scan=summary, reports=reports)


# --- `cocusctl scan` -------------------------------------------------------------------------------------


def gate_saved_report(
    loaded: LoadedConfig, environment: Environment, report: Path, allow_missing_vuln_db: bool
) -> ScanRun:
    """Judge a saved Trivy JSON report under the environment's policy; ScanGateError when it fails."""
    summary = gate_report(
        report, environment.scan, root=loaded.root, allow_missing_vuln_db=allow_missing_vuln_db
    )
    run = ScanRun(scan=summary)
    if not summary.passed:
        raise ScanGateError(gate_message(summary), result=run)
    return run


def scan_local_image(
    loaded: LoadedConfig,
    environment: Environment,
    image: str,
    engine_factory: Callable[[], ImageSource],
    scanner_factory: Callable[[], Scanner],
    allow_missing_vuln_db: bool,
    reporter: Reporter,
    os_suite: SecuritySuite | None = None,
) -> ScanRun:
    """Scan an image in the local engine into OUTPUT_DIR/scan/<image>/ and judge it."""
    accepted = load_accepted(environment.scan, loaded.root)
    engine = engine_factory()
    scanner = scanner_factory()
    try:
        engine.image(image)
    except NotAvailableError as exc:
        raise NotAvailableError(exc.message, hint="build it (cocusctl build) or docker pull it first") from None
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", image).strip("_")[:120]
    out = loaded.resolve_path(loaded.config.output_dir) / "scan" / safe
    run = scan_image(
        scanner, image, out, environment.scan, accepted=accepted,
        allow_missing_vuln_db=allow_missing_vuln_db, reporter=reporter, os_suite=os_suite,
    )
    if not run.scan.passed:
        raise ScanGateError(gate_message(run.scan), hint=f"reports in {out}", result=run)
    return run

"""The scan gate: read a Trivy JSON report and decide pass or fail under a `ScanPolicy`.

Pure: no subprocesses, no printing. The same function judges the report `cocusctl build` just produced
and a report saved earlier (`cocusctl scan --from-report`), so the verdict can never differ between them.

Default policy (see `ScanPolicy`): fail on CRITICAL/HIGH vulnerabilities that have a fixed version
(unfixed ones are listed, not failed), on any secret, and on CRITICAL/HIGH misconfigurations. Accepted
IDs (with a reason and an expiry date) do not fail the gate until they expire; expired acceptances are
reported and no longer apply. When vulnerability data is missing the gate fails unless the policy or
the caller explicitly allows it, and the summary then says vulnerabilities were NOT checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from cocusctl.core.config import SEVERITIES, AcceptedFinding, ScanPolicy
from cocusctl.core.errors import ConfigError, NotAvailableError, UsageError
from cocusctl.core.os_updates import OsUpdateCheck

Kind = Literal["vulnerability", "os_update", "secret", "misconfig"]
KINDS: tuple[Kind, ...] = ("vulnerability", "os_update", "secret", "misconfig")
# Why a finding does or does not fail the gate ("warn": the policy lists it without failing).
Disposition = Literal["fail", "unfixed", "accepted", "warn", "below_threshold"]

VULN_DB_HINT = (
    "Trivy's vulnerability database could not be obtained; pass --allow-missing-vuln-db "
    "(or set scan.allow_missing_vuln_db: true) to continue WITHOUT checking vulnerabilities"
)


class VulnDbUnavailable(NotAvailableError):
    """Trivy could not load or download its vulnerability database."""

    code = "vuln_db_unavailable"


class Finding(BaseModel):
    kind: Kind
    id: str
    severity: str
    target: str
    title: str = ""
    package: str | None = None
    installed_version: str | None = None
    fixed_version: str | None = None
    disposition: Disposition = "below_threshold"
    reason: str | None = Field(None, description="why it was accepted (accepted findings only)")


class ExpiredAcceptance(BaseModel):
    id: str
    reason: str
    expired: date


class ScanSummary(BaseModel):
    """The gate's verdict and the counts behind it (what `--output json` shows as `scan`)."""

    verdict: Literal["pass", "fail"]
    vulnerabilities_checked: bool
    artifact: str = ""
    counts: dict[Kind, dict[str, int]]
    failing: list[Finding] = Field(default_factory=list)
    unfixed: list[Finding] = Field(default_factory=list)
    accepted: list[Finding] = Field(default_factory=list)
    warnings: list[Finding] = Field(default_factory=list, description="listed by the policy, not failed")
    expired_acceptances: list[ExpiredAcceptance] = Field(default_factory=list)
    coverage: list[str] = Field(default_factory=list, description="exactly what was checked, and what was not")
    os_updates: OsUpdateCheck | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def total(self, kind: Kind) -> int:
        return sum(self.counts[kind].values())


# --- reading Trivy's JSON -----------------------------------------------------------------------------


def load_report(path: Path) -> dict[str, Any]:
    """Read a Trivy JSON report (`trivy ... --format json`); UsageError when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"report {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read report {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or "SchemaVersion" not in data:
        raise UsageError(f"{path} is not a Trivy JSON report (no SchemaVersion; use trivy --format json)")
    if data["SchemaVersion"] != 2:
        raise UsageError(f"{path}: unsupported Trivy report SchemaVersion {data['SchemaVersion']!r} (expected 2)")
    return data


def findings_from_report(report: dict[str, Any]) -> list[Finding]:
    """Every vulnerability, secret and failed misconfiguration in the report, in report order."""
    findings: list[Finding] = []
    for result in report.get("Results") or []:
        target = str(result.get("Target", ""))
        for vuln in result.get("Vulnerabilities") or []:
            findings.append(
                Finding(
                    kind="vulnerability",
                    id=str(vuln.get("VulnerabilityID", "?")),
                    severity=_severity(vuln.get("Severity")),
                    target=target,
                    title=str(vuln.get("Title") or ""),
                    package=vuln.get("PkgName"),
                    installed_version=vuln.get("InstalledVersion"),
                    fixed_version=vuln.get("FixedVersion") or None,
                )
            )
        for secret in result.get("Secrets") or []:
            findings.append(
                Finding(
                    kind="secret",
                    id=str(secret.get("RuleID", "?")),
                    severity=_severity(secret.get("Severity")),
                    target=f"{target}:{secret['StartLine']}" if secret.get("StartLine") else target,
                    title=str(secret.get("Title") or ""),
                )
            )
        for misconf in result.get("Misconfigurations") or []:
            if str(misconf.get("Status", "FAIL")).upper() != "FAIL":
                continue
            findings.append(
                Finding(
                    kind="misconfig",
                    id=str(misconf.get("ID") or misconf.get("AVDID") or "?"),
                    severity=_severity(misconf.get("Severity")),
                    target=target,
                    title=str(misconf.get("Title") or ""),
                )
            )
    return findings


def report_has_vulnerability_data(report: dict[str, Any]) -> bool:
    """True when the report holds vulnerability findings.

    Trivy's JSON does not record which scanners ran, and it omits the key when a package scan found
    nothing, so a saved report without any vulnerability is treated as "not checked" (never as a pass).
    """
    return any(result.get("Vulnerabilities") for result in report.get("Results") or [])


def _severity(value: object) -> str:
    text = str(value or "UNKNOWN").upper()
    return text if text in SEVERITIES else "UNKNOWN"


# --- accepted findings ----------------------------------------------------------------------------


def load_accepted(policy: ScanPolicy, root: Path) -> list[AcceptedFinding]:
    """The policy's accepted findings plus those in its ignore file (YAML list of {id, reason, expires})."""
    accepted = list(policy.accepted)
    if policy.ignore_file is None:
        return accepted
    path = policy.ignore_file if policy.ignore_file.is_absolute() else root / policy.ignore_file
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"scan.ignore_file: {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"scan.ignore_file: {path} is not valid YAML ({exc})") from None
    if raw is None:
        return accepted
    if not isinstance(raw, list):
        raise ConfigError(f"scan.ignore_file: {path}: expected a list of {{id, reason, expires}}")
    for index, item in enumerate(raw):
        try:
            accepted.append(AcceptedFinding.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "<item>"
            raise ConfigError(f"{path}: [{index}].{where}: {first['msg']}") from None
    return accepted


# --- the gate -------------------------------------------------------------------------------------


def evaluate(
    findings: Iterable[Finding],
    policy: ScanPolicy,
    *,
    vulnerabilities_checked: bool,
    allow_missing_vuln_db: bool = False,
    accepted: Iterable[AcceptedFinding] | None = None,
    today: date | None = None,
    artifact: str = "",
    os_check: OsUpdateCheck | None = None,
) -> ScanSummary:
    """Apply the policy. Pure: the same findings, policy and date always give the same summary.

    `os_check` is the image's comparison with its Debian security suite: each pending update is a finding.
    """
    today = today or date.today()
    active: dict[str, AcceptedFinding] = {}
    expired: list[ExpiredAcceptance] = []
    for item in policy.accepted if accepted is None else accepted:
        if item.expires < today:
            expired.append(ExpiredAcceptance(id=item.id, reason=item.reason, expired=item.expires))
        else:
            active[item.id] = item

    counts: dict[Kind, dict[str, int]] = {kind: {sev: 0 for sev in SEVERITIES} for kind in KINDS}
    listed: dict[Disposition, list[Finding]] = {"fail": [], "unfixed": [], "accepted": [], "warn": []}
    for finding in [*findings, *_os_update_findings(os_check, artifact)]:
        counts[finding.kind][finding.severity] += 1
        judged = _judge(finding, policy, active)
        if judged.disposition in listed:
            listed[judged.disposition].append(judged)
    failing = listed["fail"]

    notes: list[str] = []
    verdict: Literal["pass", "fail"] = "fail" if failing else "pass"
    if not vulnerabilities_checked:
        if allow_missing_vuln_db or policy.allow_missing_vuln_db:
            notes.append("vulnerabilities were NOT checked (no vulnerability data; allowed explicitly)")
        else:
            notes.append("vulnerabilities were NOT checked (no vulnerability data) - the gate cannot pass")
            verdict = "fail"
    for lapsed in expired:
        notes.append(f"acceptance of {lapsed.id} expired on {lapsed.expired.isoformat()} and no longer applies")
    return ScanSummary(
        verdict=verdict,
        vulnerabilities_checked=vulnerabilities_checked,
        artifact=artifact,
        counts=counts,
        failing=failing,
        unfixed=listed["unfixed"],
        accepted=listed["accepted"],
        warnings=listed["warn"],
        expired_acceptances=expired,
        coverage=coverage_lines(vulnerabilities_checked, os_check, policy),
        os_updates=os_check,
        notes=notes,
    )


def coverage_lines(vulnerabilities_checked: bool, os_check: OsUpdateCheck | None, policy: ScanPolicy) -> list[str]:
    """What the gate really looked at, one line per source: never "passed" for what was not checked."""
    if vulnerabilities_checked:
        lines = ["OS and language packages: checked by Trivy's vulnerability database"]
    else:
        lines = ["language packages (Python): NOT checked (Trivy's vulnerability database is unavailable and "
                 "no other advisory source is reachable)"]
    if os_check is not None:
        lines.append(os_check.coverage())
    elif policy.os_updates == "off":
        lines.append("OS packages: not compared with a security suite (scan.os_updates: off)")
    elif not vulnerabilities_checked:
        lines.append("OS packages: NOT checked (no vulnerability data and no security suite comparison)")
    return lines


def _os_update_findings(check: OsUpdateCheck | None, artifact: str) -> list[Finding]:
    if check is None or not check.checked:
        return []
    return [
        Finding(
            kind="os_update",
            id=f"{check.suite}:{update.package}",
            severity="UNKNOWN",
            target=f"{artifact} ({check.os})" if artifact else check.os,
            title=f"security update {update.fixed_version} in {check.suite}",
            package=update.package,
            installed_version=update.installed_version,
            fixed_version=update.fixed_version,
        )
        for update in check.pending
    ]


def _judge(finding: Finding, policy: ScanPolicy, active: dict[str, AcceptedFinding]) -> Finding:
    if finding.kind == "os_update":
        if policy.os_updates != "fail":
            return finding.model_copy(update={"disposition": "warn"})
        violates = True
    elif finding.kind == "vulnerability":
        violates = finding.severity in policy.fail_on
        if violates and finding.fixed_version is None and policy.ignore_unfixed:
            return finding.model_copy(update={"disposition": "unfixed"})
    elif finding.kind == "secret":
        violates = policy.fail_on_secrets
    else:
        violates = finding.severity in policy.misconfig_fail_on
    if not violates:
        return finding.model_copy(update={"disposition": "below_threshold"})
    acceptance = active.get(finding.id)
    if acceptance is not None:
        return finding.model_copy(update={"disposition": "accepted", "reason": acceptance.reason})
    return finding.model_copy(update={"disposition": "fail"})


def gate_report(
    path: Path,
    policy: ScanPolicy,
    *,
    root: Path,
    vulnerabilities_checked: bool | None = None,
    allow_missing_vuln_db: bool = False,
    today: date | None = None,
) -> ScanSummary:
    """Load a saved report and judge it. `vulnerabilities_checked=None` infers it from the report."""
    report = load_report(path)
    checked = report_has_vulnerability_data(report) if vulnerabilities_checked is None else vulnerabilities_checked
    return evaluate(
        findings_from_report(report),
        policy,
        vulnerabilities_checked=checked,
        allow_missing_vuln_db=allow_missing_vuln_db,
        accepted=load_accepted(policy, root),
        today=today,
        artifact=str(report.get("ArtifactName", "")),
        os_check=OsUpdateCheck(checked=False, reason="saved report"),
    )


_NOUNS: dict[Kind, tuple[str, str]] = {
    "vulnerability": ("vulnerability", "vulnerabilities"),
    "os_update": ("pending OS security update", "pending OS security updates"),
    "secret": ("secret", "secrets"),
    "misconfig": ("misconfiguration", "misconfigurations"),
}


def gate_message(summary: ScanSummary) -> str:
    """The one-line error for a failed gate."""
    if summary.failing:
        by_kind = {kind: sum(1 for f in summary.failing if f.kind == kind) for kind in KINDS}
        parts = [f"{n} {_NOUNS[kind][n != 1]}" for kind, n in by_kind.items() if n]
        return f"scan gate failed: policy violated by {', '.join(parts)}"
    return "scan gate failed: vulnerabilities were NOT checked (Trivy's vulnerability DB is unavailable)"

"""Pending Debian security updates in an image, found without Trivy's vulnerability database.

Trivy's DB cannot always be had (this project's own machines cannot download it), but Debian publishes what
it fixes: every binary package in `<release>-security` is a fix. An installed package older than its
version there is a fixable finding. The installed packages and the release come from Trivy's own report
(`--list-all-pkgs`, read from dpkg's status by Trivy: nothing runs inside the image). Severity is UNKNOWN:
the suite says that a fix exists, not how bad the flaw was.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, Field

# Debian's major versions as Trivy reports them ("12.15") → the codename its suites are named by.
DEBIAN_CODENAMES = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky"}


class SuiteIndex(BaseModel):
    """The newest version of every binary package in one security suite, for one architecture."""

    suite: str = Field(description="e.g. bookworm-security")
    date: str = Field("", description="the suite's Release date")
    signature_verified: bool = Field(description="InRelease checked with gpgv against Debian's archive keyring")
    versions: dict[str, str]


class SecuritySuite(Protocol):
    def index(self, codename: str, arch: str) -> SuiteIndex:
        """The suite's index; NotAvailableError when it cannot be fetched."""


class OsPackage(BaseModel):
    name: str
    version: str
    arch: str


class OsUpdate(BaseModel):
    package: str
    installed_version: str
    fixed_version: str


class OsUpdateCheck(BaseModel):
    """What the check looked at and what it found; `checked` is false when it could not look."""

    checked: bool
    os: str = Field("", description="e.g. debian 12.15")
    suite: str = ""
    suite_date: str = ""
    signature_verified: bool = False
    packages: int = Field(0, description="installed OS packages compared")
    pending: list[OsUpdate] = Field(default_factory=list)
    reason: str = Field("", description="why it was not checked")

    def coverage(self) -> str:
        """One line for the summary that says exactly what was checked."""
        if not self.checked:
            return f"OS packages: NOT checked against a security suite ({self.reason})"
        verified = "" if self.signature_verified else "; suite signature NOT verified"
        return (
            f"OS packages: {self.packages} checked against {self.suite} of {self.suite_date or 'unknown date'} "
            f"({len(self.pending)} pending{verified})"
        )


def installed_packages(report: dict[str, Any]) -> tuple[str, list[OsPackage]]:
    """The OS ("debian 12.15") and its installed packages from a Trivy JSON report made with --list-all-pkgs."""
    os_meta = (report.get("Metadata") or {}).get("OS") or {}
    os_name = f"{os_meta.get('Family', '')} {os_meta.get('Name', '')}".strip()
    packages: list[OsPackage] = []
    for result in report.get("Results") or []:
        if result.get("Class") != "os-pkgs":
            continue
        for pkg in result.get("Packages") or []:
            if pkg.get("Name") and pkg.get("Version"):
                version = str(pkg["Version"])
                if pkg.get("Epoch"):
                    version = f"{pkg['Epoch']}:{version}"
                if pkg.get("Release"):
                    version = f"{version}-{pkg['Release']}"
                packages.append(OsPackage(name=str(pkg["Name"]), version=version, arch=str(pkg.get("Arch") or "")))
    return os_name, packages


def pending_updates(packages: list[OsPackage], index: SuiteIndex) -> list[OsUpdate]:
    """Every installed package older than its version in the security suite, by Debian's version order."""
    from debian.debian_support import Version

    pending = []
    for pkg in packages:
        fixed = index.versions.get(pkg.name)
        if fixed is not None and Version(pkg.version) < Version(fixed):
            pending.append(OsUpdate(package=pkg.name, installed_version=pkg.version, fixed_version=fixed))
    return sorted(pending, key=lambda u: u.package)


def check_report(report: dict[str, Any], suite: SecuritySuite) -> OsUpdateCheck:
    """Check the image a Trivy report describes against its Debian release's security suite."""
    from cocusctl.core.errors import CocusError

    os_name, packages = installed_packages(report)
    family, _, version = os_name.partition(" ")
    if family != "debian":
        reason = f"{os_name} is not Debian" if os_name else "the report names no operating system"
        return OsUpdateCheck(checked=False, os=os_name, reason=reason)
    codename = DEBIAN_CODENAMES.get(version.split(".", 1)[0])
    if codename is None:
        return OsUpdateCheck(checked=False, os=os_name, reason=f"unknown Debian release {version}")
    if not packages:
        return OsUpdateCheck(checked=False, os=os_name, reason="the report lists no installed packages")
    arches = {p.arch for p in packages if p.arch and p.arch != "all"}
    arch = arches.pop() if len(arches) == 1 else "amd64"
    try:
        index = suite.index(codename, arch)
    except CocusError as exc:
        return OsUpdateCheck(checked=False, os=os_name, reason=f"{codename}-security unreachable: {exc.message}")
    return OsUpdateCheck(
        checked=True,
        os=os_name,
        suite=index.suite,
        suite_date=index.date,
        signature_verified=index.signature_verified,
        packages=len(packages),
        pending=pending_updates(packages, index),
    )


def sarif_run(check: OsUpdateCheck, artifact: str, failing: bool) -> dict[str, Any]:
    """The pending updates as one SARIF 2.1.0 run, to sit beside Trivy's run in the same SARIF file."""
    rules = []
    results = []
    for update in check.pending:
        rule_id = f"{check.suite}:{update.package}"
        rules.append({
            "id": rule_id,
            "name": "PendingSecurityUpdate",
            "shortDescription": {"text": f"{update.package}: a security update is available"},
            "fullDescription": {
                "text": f"{update.package} {update.installed_version} is older than {update.fixed_version} in "
                f"{check.suite}."
            },
            "defaultConfiguration": {"level": "error" if failing else "warning"},
            "properties": {"security-severity": "0.0", "tags": ["security", "os-update"]},
        })
        results.append({
            "ruleId": rule_id,
            "level": "error" if failing else "warning",
            "message": {
                "text": f"Package: {update.package}\nInstalled Version: {update.installed_version}\n"
                f"Fixed Version: {update.fixed_version}\nSuite: {check.suite}"
            },
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact or "image"}}}],
        })
    return {
        "tool": {"driver": {"name": "cocusctl-debian-security", "informationUri":
                            "https://www.debian.org/security/", "rules": rules}},
        "results": results,
    }

"""Pending Debian security updates: reading installed packages, Debian version order, the gate's policy."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cocusctl.core.config import AcceptedFinding, ScanPolicy
from cocusctl.core.errors import NotAvailableError
from cocusctl.core.os_updates import OsUpdateCheck, SuiteIndex, check_report, pending_updates, sarif_run
from cocusctl.core.scan import evaluate, gate_message


def trivy_report(os_name: str = "12.15", family: str = "debian") -> dict:
    """The shape of `trivy image --list-all-pkgs --format json` (fields as Trivy 0.76 writes them)."""
    packages = [
        {"Name": "zlib1g", "Version": "1.2.13.dfsg", "Release": "1", "Epoch": 1, "Arch": "amd64"},
        {"Name": "liblzma5", "Version": "5.4.1", "Release": "1+deb12u2", "Arch": "amd64"},
        {"Name": "adduser", "Version": "3.134", "Arch": "all"},
        {"Name": "tzdata", "Version": "2026a", "Release": "0+deb12u1", "Arch": "all"},
    ]
    return {
        "SchemaVersion": 2,
        "Metadata": {"OS": {"Family": family, "Name": os_name}},
        "Results": [
            {"Target": "img (debian 12.15)", "Class": "os-pkgs", "Type": "debian", "Packages": packages},
            {"Target": "Python", "Class": "lang-pkgs", "Type": "python-pkg", "Packages": [{"Name": "x"}]},
        ],
    }


class Suite:
    """A security suite holding fixed versions, as the Debian adapter returns them."""

    def __init__(self, versions: dict[str, str], error: str | None = None) -> None:
        self.versions = versions
        self.error = error
        self.asked: list[tuple[str, str]] = []

    def index(self, codename: str, arch: str) -> SuiteIndex:
        self.asked.append((codename, arch))
        if self.error:
            raise NotAvailableError(self.error)
        return SuiteIndex(suite=f"{codename}-security", date="Mon, 30 Nov 2026", signature_verified=True,
                          versions=self.versions)


SUITE = {
    "zlib1g": "1:1.2.13.dfsg-1+deb12u1",  # newer: pending
    "liblzma5": "5.4.1-1+deb12u2",  # the same: up to date
    "tzdata": "2025b-0+deb12u1",  # older than installed (from -updates): not pending
    "openssl": "3.0.22-1~deb12u2",  # not installed
}


def test_pending_updates_follow_debian_version_order_with_epochs() -> None:
    check = check_report(trivy_report(), Suite(SUITE))
    assert check.checked and check.os == "debian 12.15" and check.suite == "bookworm-security"
    assert check.packages == 4
    assert [(u.package, u.installed_version, u.fixed_version) for u in check.pending] == [
        ("zlib1g", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+deb12u1")
    ]
    assert check.coverage() == (
        "OS packages: 4 checked against bookworm-security of Mon, 30 Nov 2026 (1 pending)"
    )


def test_the_release_and_architecture_pick_the_suite() -> None:
    suite = Suite(SUITE)
    check_report(trivy_report("11.9"), suite)
    assert suite.asked == [("bullseye", "amd64")]


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        (trivy_report("3.19.1", family="alpine"), "alpine 3.19.1 is not Debian"),
        (trivy_report("99.1"), "unknown Debian release 99.1"),
        ({"SchemaVersion": 2, "Metadata": {}, "Results": []}, "the report names no operating system"),
    ],
)
def test_what_cannot_be_checked_says_why(report: dict, reason: str) -> None:
    check = check_report(report, Suite(SUITE))
    assert (check.checked, check.reason) == (False, reason)
    assert check.coverage() == f"OS packages: NOT checked against a security suite ({reason})"


def test_an_unreachable_suite_is_not_checked_never_passed() -> None:
    check = check_report(trivy_report(), Suite(SUITE, error="deb.debian.org: ConnectError"))
    assert not check.checked and check.pending == []
    summary = evaluate([], ScanPolicy(), vulnerabilities_checked=False, allow_missing_vuln_db=True, os_check=check)
    assert summary.coverage[1] == (
        "OS packages: NOT checked against a security suite (bookworm-security unreachable: deb.debian.org: "
        "ConnectError)"
    )


def test_pending_update_fails_the_default_gate_and_names_the_package() -> None:
    check = check_report(trivy_report(), Suite(SUITE))
    summary = evaluate([], ScanPolicy(), vulnerabilities_checked=False, allow_missing_vuln_db=True,
                       os_check=check, artifact="img:1")
    assert summary.verdict == "fail"
    assert [(f.kind, f.id, f.severity, f.package, f.fixed_version) for f in summary.failing] == [
        ("os_update", "bookworm-security:zlib1g", "UNKNOWN", "zlib1g", "1:1.2.13.dfsg-1+deb12u1")
    ]
    assert summary.counts["os_update"]["UNKNOWN"] == 1
    assert gate_message(summary) == "scan gate failed: policy violated by 1 pending OS security update"
    assert summary.coverage == [
        "language packages (Python): NOT checked (Trivy's vulnerability database is unavailable and no other "
        "advisory source is reachable)",
        "OS packages: 4 checked against bookworm-security of Mon, 30 Nov 2026 (1 pending)",
    ]


def test_warn_policy_lists_without_failing_and_off_does_not_compare() -> None:
    check = check_report(trivy_report(), Suite(SUITE))
    warned = evaluate([], ScanPolicy(os_updates="warn"), vulnerabilities_checked=True, os_check=check)
    assert warned.verdict == "pass" and warned.failing == []
    assert [f.id for f in warned.warnings] == ["bookworm-security:zlib1g"]
    off = evaluate([], ScanPolicy(os_updates="off"), vulnerabilities_checked=True)
    assert off.coverage[-1] == "OS packages: not compared with a security suite (scan.os_updates: off)"


def test_an_acceptance_with_a_reason_applies_until_it_expires() -> None:
    check = check_report(trivy_report(), Suite(SUITE))
    tomorrow = date.today() + timedelta(days=1)
    accepted = [AcceptedFinding(id="bookworm-security:zlib1g", reason="rebuild scheduled", expires=tomorrow)]
    summary = evaluate([], ScanPolicy(), vulnerabilities_checked=True, os_check=check, accepted=accepted)
    assert summary.verdict == "pass" and [f.reason for f in summary.accepted] == ["rebuild scheduled"]


def test_sarif_run_names_each_package_and_its_fixed_version() -> None:
    check = check_report(trivy_report(), Suite(SUITE))
    run = sarif_run(check, "img:1", failing=True)
    assert run["tool"]["driver"]["name"] == "cocusctl-debian-security"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["bookworm-security:zlib1g"]
    (result,) = run["results"]
    assert result["level"] == "error" and "Fixed Version: 1:1.2.13.dfsg-1+deb12u1" in result["message"]["text"]
    assert sarif_run(check, "img:1", failing=False)["results"][0]["level"] == "warning"


def test_pending_updates_ignore_packages_the_suite_does_not_carry() -> None:
    assert pending_updates([], SuiteIndex(suite="s", signature_verified=True, versions=SUITE)) == []
    assert OsUpdateCheck(checked=True, suite="s", signature_verified=False).coverage().endswith(
        "(0 pending; suite signature NOT verified)"
    )

"""The scan gate on real Trivy reports (../shared/fixtures/trivy)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from cocusctl.core.config import AcceptedFinding, ScanPolicy
from cocusctl.core.errors import ConfigError, UsageError
from cocusctl.core.scan import (
    evaluate,
    findings_from_report,
    gate_message,
    gate_report,
    load_accepted,
    load_report,
    report_has_vulnerability_data,
)

TODAY = date(2026, 1, 15)


def judge(path: Path, policy: ScanPolicy | None = None, **kwargs):
    return gate_report(path, policy or ScanPolicy(), root=path.parent, today=TODAY, **kwargs)


def only_low_unfixed(trivy_fixtures: Path, tmp_path: Path) -> Path:
    """debian-buster.json with its fixable CRITICAL removed: only the LOW without a fix remains."""
    report = json.loads((trivy_fixtures / "debian-buster.json").read_text())
    vulns = report["Results"][0]["Vulnerabilities"]
    report["Results"][0]["Vulnerabilities"] = [v for v in vulns if v["Severity"] == "LOW"]
    assert len(report["Results"][0]["Vulnerabilities"]) == 1
    path = tmp_path / "low-unfixed.json"
    path.write_text(json.dumps(report))
    return path


def test_findings_are_read_from_every_section(trivy_fixtures: Path) -> None:
    buster = findings_from_report(load_report(trivy_fixtures / "debian-buster.json"))
    assert [(f.kind, f.id, f.severity, f.fixed_version) for f in buster] == [
        ("vulnerability", "CVE-2019-18276", "LOW", None),
        ("vulnerability", "CVE-2019-18224", "CRITICAL", "2.0.5-1+deb10u1"),
    ]
    assert buster[1].package == "libidn2-0" and buster[1].installed_version == "2.0.5-1"
    secrets = findings_from_report(load_report(trivy_fixtures / "secrets.json"))
    assert [(f.kind, f.id, f.severity, f.target) for f in secrets] == [
        ("secret", "aws-access-key-id", "CRITICAL", "deploy.sh:3"),
        ("secret", "mysecret", "HIGH", "deploy.sh:7"),
    ]
    misconf = findings_from_report(load_report(trivy_fixtures / "dockerfile.json"))
    assert [(f.kind, f.id, f.severity, f.target) for f in misconf] == [("misconfig", "DS-0002", "HIGH", "Dockerfile")]


def test_fixable_critical_fails_and_unfixed_low_is_not_failed(trivy_fixtures: Path) -> None:
    summary = judge(trivy_fixtures / "debian-buster.json")
    assert summary.verdict == "fail"
    assert summary.vulnerabilities_checked is True
    assert [f.id for f in summary.failing] == ["CVE-2019-18224"]
    assert summary.counts["vulnerability"] == {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 1, "UNKNOWN": 0}
    assert gate_message(summary) == "scan gate failed: policy violated by 1 vulnerability"


def test_only_low_unfixed_passes(trivy_fixtures: Path, tmp_path: Path) -> None:
    summary = judge(only_low_unfixed(trivy_fixtures, tmp_path))
    assert summary.verdict == "pass"
    assert summary.failing == []
    assert summary.counts["vulnerability"]["LOW"] == 1


def test_unfixed_high_is_listed_not_failed_unless_policy_says_so(trivy_fixtures: Path, tmp_path: Path) -> None:
    report = json.loads((trivy_fixtures / "debian-buster.json").read_text())
    for vuln in report["Results"][0]["Vulnerabilities"]:
        vuln["Severity"] = "HIGH"
        vuln.pop("FixedVersion", None)
    path = tmp_path / "unfixed-high.json"
    path.write_text(json.dumps(report))
    summary = judge(path)
    assert summary.verdict == "pass"
    assert [f.id for f in summary.unfixed] == ["CVE-2019-18276", "CVE-2019-18224"]
    strict = judge(path, ScanPolicy(ignore_unfixed=False))
    assert strict.verdict == "fail" and len(strict.failing) == 2


def test_pip_high_fails_medium_does_not(trivy_fixtures: Path) -> None:
    summary = judge(trivy_fixtures / "pip.json")
    assert [(f.id, f.severity) for f in summary.failing] == [("CVE-2019-14806", "HIGH")]
    assert summary.counts["vulnerability"]["MEDIUM"] == 1
    relaxed = judge(trivy_fixtures / "pip.json", ScanPolicy(fail_on=["CRITICAL"]))
    assert relaxed.verdict == "pass"
    stricter = judge(trivy_fixtures / "pip.json", ScanPolicy(fail_on=["CRITICAL", "HIGH", "MEDIUM"]))
    assert len(stricter.failing) == 2


def test_any_secret_fails(trivy_fixtures: Path) -> None:
    summary = judge(trivy_fixtures / "secrets.json", allow_missing_vuln_db=True)
    assert summary.verdict == "fail"
    assert [f.id for f in summary.failing] == ["aws-access-key-id", "mysecret"]
    assert gate_message(summary) == "scan gate failed: policy violated by 2 secrets"
    off = judge(trivy_fixtures / "secrets.json", ScanPolicy(fail_on_secrets=False), allow_missing_vuln_db=True)
    assert off.verdict == "pass"


def test_high_misconfig_fails_unless_threshold_is_raised(trivy_fixtures: Path) -> None:
    summary = judge(trivy_fixtures / "dockerfile.json", allow_missing_vuln_db=True)
    assert summary.verdict == "fail"
    assert [(f.kind, f.id) for f in summary.failing] == [("misconfig", "DS-0002")]
    assert gate_message(summary) == "scan gate failed: policy violated by 1 misconfiguration"
    relaxed = judge(trivy_fixtures / "dockerfile.json", ScanPolicy(misconfig_fail_on=["CRITICAL"]),
                    allow_missing_vuln_db=True)
    assert relaxed.verdict == "pass"


def test_missing_vulnerability_data_never_passes_silently(trivy_fixtures: Path) -> None:
    # dockerfile.json holds no vulnerability data at all: with the misconfig accepted, only the missing
    # vulnerability data is left, and that alone fails the gate.
    policy = ScanPolicy(accepted=[AcceptedFinding(id="DS-0002", reason="base image", expires=date(2026, 6, 1))])
    path = trivy_fixtures / "dockerfile.json"
    assert report_has_vulnerability_data(load_report(path)) is False
    summary = judge(path, policy)
    assert summary.verdict == "fail"
    assert summary.failing == []
    assert summary.vulnerabilities_checked is False
    assert "NOT checked" in gate_message(summary)
    allowed = judge(path, policy, allow_missing_vuln_db=True)
    assert allowed.verdict == "pass"
    assert allowed.vulnerabilities_checked is False
    assert any("NOT checked" in note for note in allowed.notes)
    by_policy = judge(path, policy.model_copy(update={"allow_missing_vuln_db": True}))
    assert by_policy.verdict == "pass" and by_policy.vulnerabilities_checked is False


def test_accepted_ids_apply_until_they_expire(trivy_fixtures: Path) -> None:
    path = trivy_fixtures / "debian-buster.json"
    valid = ScanPolicy(accepted=[AcceptedFinding(id="CVE-2019-18224", reason="not reachable", expires=TODAY)])
    summary = judge(path, valid)
    assert summary.verdict == "pass"
    assert [(f.id, f.reason) for f in summary.accepted] == [("CVE-2019-18224", "not reachable")]
    lapsed = ScanPolicy(
        accepted=[AcceptedFinding(id="CVE-2019-18224", reason="not reachable", expires=date(2026, 1, 14))]
    )
    summary = judge(path, lapsed)
    assert summary.verdict == "fail"
    assert [e.id for e in summary.expired_acceptances] == ["CVE-2019-18224"]
    assert "acceptance of CVE-2019-18224 expired on 2026-01-14 and no longer applies" in summary.notes


def test_ignore_file_adds_acceptances(trivy_fixtures: Path, tmp_path: Path) -> None:
    ignore = tmp_path / "trivy-accepted.yaml"
    ignore.write_text("- {id: aws-access-key-id, reason: test fixture, expires: 2026-12-31}\n"
                      "- {id: mysecret, reason: test fixture, expires: 2026-12-31}\n")
    policy = ScanPolicy(ignore_file=Path("trivy-accepted.yaml"))
    assert [a.id for a in load_accepted(policy, tmp_path)] == ["aws-access-key-id", "mysecret"]
    summary = gate_report(trivy_fixtures / "secrets.json", policy, root=tmp_path, today=TODAY,
                          allow_missing_vuln_db=True)
    assert summary.verdict == "pass" and len(summary.accepted) == 2


def test_ignore_file_errors_name_the_file_and_item(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- {id: X, expires: 2026-01-01}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: \[0\]\.reason: Field required"):
        load_accepted(ScanPolicy(ignore_file=Path("bad.yaml")), tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_accepted(ScanPolicy(ignore_file=Path("missing.yaml")), tmp_path)


def test_not_a_trivy_report_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(UsageError, match="not a Trivy JSON report"):
        load_report(bad)
    bad.write_text("not json")
    with pytest.raises(UsageError, match="is not JSON"):
        load_report(bad)
    with pytest.raises(UsageError, match="does not exist"):
        load_report(tmp_path / "nope.json")


def test_summary_round_trips_as_json(trivy_fixtures: Path) -> None:
    summary = judge(trivy_fixtures / "pip.json")
    data = json.loads(summary.model_dump_json())
    assert data["verdict"] == "fail" and data["vulnerabilities_checked"] is True
    assert data["counts"]["vulnerability"]["HIGH"] == 1
    assert data["failing"][0]["disposition"] == "fail"
    assert evaluate([], ScanPolicy(), vulnerabilities_checked=True).verdict == "pass"

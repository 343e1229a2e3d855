"""`cocusctl scan --from-report`: exact output, exit codes and the JSON envelope, on real Trivy reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app
from cocusctl.core.errors import ExitCode

FAILING_BUSTER = """\
Scan gate: FAIL  (testdata/fixtures/images/debian-buster.tar.gz)
┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━┳━━━━━━━━┳━━━━━┳━━━━━━━━━┓
┃ findings          ┃ CRITICAL ┃ HIGH ┃ MEDIUM ┃ LOW ┃ UNKNOWN ┃
┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━╇━━━━━━━━╇━━━━━╇━━━━━━━━━┩
│ vulnerabilities   │ 1        │ 0    │ 0      │ 1   │ 0       │
│ secrets           │ 0        │ 0    │ 0      │ 0   │ 0       │
│ misconfigurations │ 0        │ 0    │ 0      │ 0   │ 0       │
└───────────────────┴──────────┴──────┴────────┴─────┴─────────┘
checked: OS and language packages: checked by Trivy's vulnerability database
checked: OS packages: NOT checked against a security suite (saved report)
Failing findings:
┏━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ kind          ┃ id             ┃ severity ┃ where             ┃ fixed in        ┃
┡━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ vulnerability │ CVE-2019-18224 │ CRITICAL │ libidn2-0 2.0.5-1 │ 2.0.5-1+deb10u1 │
└───────────────┴────────────────┴──────────┴───────────────────┴─────────────────┘
"""

PASSING_LOW_UNFIXED = """\
Scan gate: PASS  (testdata/fixtures/images/debian-buster.tar.gz)
┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━┳━━━━━━━━┳━━━━━┳━━━━━━━━━┓
┃ findings          ┃ CRITICAL ┃ HIGH ┃ MEDIUM ┃ LOW ┃ UNKNOWN ┃
┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━╇━━━━━━━━╇━━━━━╇━━━━━━━━━┩
│ vulnerabilities   │ 0        │ 0    │ 0      │ 1   │ 0       │
│ secrets           │ 0        │ 0    │ 0      │ 0   │ 0       │
│ misconfigurations │ 0        │ 0    │ 0      │ 0   │ 0       │
└───────────────────┴──────────┴──────┴────────┴─────┴─────────┘
checked: OS and language packages: checked by Trivy's vulnerability database
checked: OS packages: NOT checked against a security suite (saved report)
"""


@pytest.fixture(autouse=True)
def empty_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No cocus.yaml: the built-in defaults (default policy, `local` environment)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def low_unfixed_report(trivy_fixtures: Path, into: Path) -> Path:
    report = json.loads((trivy_fixtures / "debian-buster.json").read_text())
    vulns = report["Results"][0]["Vulnerabilities"]
    report["Results"][0]["Vulnerabilities"] = [v for v in vulns if v["Severity"] == "LOW"]
    path = into / "low-unfixed.json"
    path.write_text(json.dumps(report))
    return path


def test_fixable_critical_fails_with_the_scan_gate_exit_code(runner: CliRunner, trivy_fixtures: Path) -> None:
    result = runner.invoke(app, ["scan", "--from-report", str(trivy_fixtures / "debian-buster.json")])
    assert result.exit_code == ExitCode.SCAN_GATE == 7
    assert result.stdout == FAILING_BUSTER
    assert result.stderr == "error: scan gate failed: policy violated by 1 vulnerability\n"


def test_only_low_unfixed_passes(runner: CliRunner, trivy_fixtures: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", "--from-report", str(low_unfixed_report(trivy_fixtures, tmp_path))])
    assert result.exit_code == 0, result.output
    assert result.stdout == PASSING_LOW_UNFIXED
    assert result.stderr == ""


def test_secrets_report_lists_both_and_says_vulns_not_checked(runner: CliRunner, trivy_fixtures: Path) -> None:
    result = runner.invoke(
        app, ["scan", "--from-report", str(trivy_fixtures / "secrets.json"), "--allow-missing-vuln-db"]
    )
    assert result.exit_code == ExitCode.SCAN_GATE
    lines = result.stdout.splitlines()
    assert lines[0] == "Scan gate: FAIL - vulnerabilities NOT checked  (testdata/fixtures/repo/secrets)"
    assert "│ vulnerabilities (NOT checked) │ -        │ -    │ -      │ -   │ -       │" in lines
    assert "│ secret │ aws-access-key-id │ CRITICAL │ deploy.sh:3 │ -        │" in lines
    assert "│ secret │ mysecret          │ HIGH     │ deploy.sh:7 │ -        │" in lines
    assert lines[-1] == "note: vulnerabilities were NOT checked (no vulnerability data; allowed explicitly)"
    assert result.stderr == "error: scan gate failed: policy violated by 2 secrets\n"


def test_report_without_vulnerability_data_fails_unless_allowed(
    runner: CliRunner, trivy_fixtures: Path, empty_project: Path
) -> None:
    (empty_project / "cocus.yaml").write_text(
        "scan:\n  accepted:\n    - {id: DS-0002, reason: fixture, expires: 2999-01-01}\n"
    )
    report = str(trivy_fixtures / "dockerfile.json")
    result = runner.invoke(app, ["scan", "--from-report", report])
    assert result.exit_code == ExitCode.SCAN_GATE
    assert result.stderr == (
        "error: scan gate failed: vulnerabilities were NOT checked (Trivy's vulnerability DB is unavailable)\n"
    )
    allowed = runner.invoke(app, ["scan", "--from-report", report, "--allow-missing-vuln-db"])
    assert allowed.exit_code == 0
    assert "Scan gate: PASS - vulnerabilities NOT checked" in allowed.stdout
    assert "│ misconfig │ DS-0002 │ HIGH     │ Dockerfile │ fixture │" in allowed.stdout


def test_json_envelope_on_failure(runner: CliRunner, trivy_fixtures: Path) -> None:
    result = runner.invoke(app, ["scan", "--from-report", str(trivy_fixtures / "pip.json"), "--output", "json"])
    assert result.exit_code == ExitCode.SCAN_GATE
    envelope = json.loads(result.stdout)
    assert {k: envelope[k] for k in ("version", "command", "status", "exit_code")} == {
        "version": 1, "command": "scan", "status": "error", "exit_code": 7,
    }
    assert envelope["errors"] == [
        {"code": "scan_gate", "message": "scan gate failed: policy violated by 1 vulnerability", "hint": None}
    ]
    scan = envelope["data"]["scan"]
    assert scan["verdict"] == "fail" and scan["vulnerabilities_checked"] is True
    assert scan["counts"]["vulnerability"] == {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 1, "LOW": 0, "UNKNOWN": 0}
    assert [f["id"] for f in scan["failing"]] == ["CVE-2019-14806"]


def test_environment_policy_applies(runner: CliRunner, trivy_fixtures: Path, empty_project: Path) -> None:
    (empty_project / "cocus.yaml").write_text(
        "environments:\n"
        "  local: {}\n"
        "  lenient:\n    scan: {fail_on: [CRITICAL]}\n"
    )
    report = str(trivy_fixtures / "pip.json")
    assert runner.invoke(app, ["scan", "--from-report", report]).exit_code == ExitCode.SCAN_GATE
    assert runner.invoke(app, ["scan", "--from-report", report, "--env", "lenient"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: give exactly one of IMAGE or --from-report TRIVY_JSON\n"),
        (["img:1", "--from-report", "x.json"], "error: give exactly one of IMAGE or --from-report TRIVY_JSON\n"),
        (["--from-report", "missing.json"], "error: report missing.json does not exist\n"),
        (["--from-report", "cocus.json", "--env", "nope"], "error: unknown environment 'nope' (configured: local)\n"),
    ],
)
def test_bad_input_is_one_line(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["scan", *args])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == message
    assert result.stdout == ""

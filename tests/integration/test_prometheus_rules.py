"""promtool on the generated rules: they load, their unit tests pass (and fail when the numbers change), and
every dashboard expression parses as PromQL."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cocusctl.core.observability.assets import RULES_PATH, rules_yaml
from cocusctl.core.observability.dashboards import dashboards
from cocusctl.core.observability.rules import rule_groups
from cocusctl.core.observability.slo import OBSERVABILITY_DIR, SLO_FILE, load_slo
from tests.promql import as_grafana_sends

pytestmark = pytest.mark.prometheus

TESTS = sorted((OBSERVABILITY_DIR / "prometheus" / "tests").glob("*.test.yaml"))


def _promtool(promtool: str, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_the_rules_load(promtool_bin):
    proc = _promtool(promtool_bin, "check", "rules", OBSERVABILITY_DIR / RULES_PATH)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 28 rules found" in proc.stdout


def test_the_rule_unit_tests_pass(promtool_bin):
    proc = _promtool(promtool_bin, "test", "rules", *TESTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(TESTS) == 2


def test_the_unit_tests_catch_a_changed_objective(promtool_bin, tmp_path):
    """Rules generated from a looser objective (90 % instead of 99.5 %) no longer page at 10 % errors, and the
    tests say so: they pin the numbers, not just the syntax."""
    data = yaml.safe_load(SLO_FILE.read_text())
    data["slos"]["availability"]["objective"] = 0.9
    slo = tmp_path / "slo.yaml"
    slo.write_text(yaml.safe_dump(data))
    (tmp_path / "prometheus" / "tests").mkdir(parents=True)
    (tmp_path / RULES_PATH).write_text(rules_yaml(rule_groups(load_slo(slo))))
    for test in TESTS:
        shutil.copy(test, tmp_path / "prometheus" / "tests" / test.name)
    proc = _promtool(promtool_bin, "test", "rules", *(f"prometheus/tests/{t.name}" for t in TESTS), cwd=tmp_path)
    assert proc.returncode != 0
    assert "availability fast burn fires at 10 % errors" in proc.stdout + proc.stderr


def test_every_dashboard_expression_parses(promtool_bin, tmp_path):
    exprs = [expr for d in dashboards(load_slo()) for _, expr in d.expressions()]
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": as_grafana_sends(e)} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboards.rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    proc = _promtool(promtool_bin, "check", "rules", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in proc.stdout

    rules["groups"][0]["rules"][0]["expr"] = "sum by (le (rate(x[5m]))"  # the check can fail
    path.write_text(yaml.safe_dump(rules))
    assert _promtool(promtool_bin, "check", "rules", path).returncode != 0

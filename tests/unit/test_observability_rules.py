"""The SLO file, the rules generated from it, and the promtool tests that cover every alert."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cocusctl.core.errors import ConfigError
from cocusctl.core.observability.assets import RULES_PATH, render_assets
from cocusctl.core.observability.rules import le_matcher, num, rule_groups
from cocusctl.core.observability.slo import OBSERVABILITY_DIR, SLO_FILE, duration_seconds, load_slo

TESTS_DIR = OBSERVABILITY_DIR / "prometheus" / "tests"


def test_the_committed_rules_and_dashboards_are_generated_from_the_slo_file():
    result = render_assets(check=True)
    assert [f.status for f in result.files] == ["unchanged"] * len(result.files), (
        "run `cocusctl monitoring render` and commit the result")
    assert {Path(f.path).name for f in result.files} == {"cocus-rag.rules.yaml", "cocus-infra.json", "cocus-rag.json"}


def test_the_latency_threshold_is_a_bucket_bound_of_the_service_histogram():
    from cocus_rag.metrics import _LATENCY_BUCKETS

    assert load_slo().slos["latency"].threshold_seconds in _LATENCY_BUCKETS


@pytest.mark.parametrize(("value", "text"), [(0.005, "0.005"), (14.4, "14.4"), (6.0, "6"), (1 - 0.995, "0.005"),
                                             (99.5, "99.5"), (0.0, "0")])
def test_numbers_are_written_as_people_write_them(value, text):
    assert num(value) == text


def test_le_matches_both_spellings_of_an_integral_bound():
    assert le_matcher(0.5) == 'le="0.5"'
    assert le_matcher(1.0) == 'le=~"1|1.0"'


def test_durations():
    assert [duration_seconds(d) for d in ("30s", "5m", "1h", "3d")] == [30, 300, 3600, 259200]
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("1h30m")


@pytest.mark.parametrize(("change", "message"), [
    (("slos", "availability", "objective"), 1.5),
    (("burn_rate_alerts", "page", "for"), "2 minutes"),
    (("alerts", "error_ratio", "threshold"), 0),
])
def test_a_bad_slo_file_names_the_file_and_the_field(tmp_path, change, message):
    data = yaml.safe_load(SLO_FILE.read_text())
    *parents, key = change
    node = data
    for p in parents:
        node = node[p]
    node[key] = message
    bad = tmp_path / "slo.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_slo(bad)
    assert str(bad) in err.value.message and ".".join(change) in err.value.message


def test_the_latency_slo_needs_its_threshold(tmp_path):
    data = yaml.safe_load(SLO_FILE.read_text())
    del data["slos"]["latency"]["threshold_seconds"]
    bad = tmp_path / "slo.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="threshold_seconds"):
        load_slo(bad)


def test_every_burn_rate_window_has_a_recording_rule_per_slo():
    spec = load_slo()
    records = [(r["record"], r["labels"]["slo"]) for r in rule_groups(spec)["groups"][0]["rules"]]
    assert sorted(records) == sorted((f"cocus:slo_errors:ratio_rate{w}", slo)
                                     for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
                                     for slo in ("availability", "latency"))


def test_the_thresholds_come_from_the_slo_file():
    spec = load_slo()
    alerts = {r["alert"]: r for g in rule_groups(spec)["groups"] for r in g.get("rules", []) if "alert" in r}
    assert "> (14.4 * 0.005)" in alerts["CocusAvailabilityFastBurn"]["expr"]
    assert "> (1 * 0.01)" in alerts["CocusLatencySlowBurn"]["expr"]
    assert alerts["CocusLatencyFastBurn"]["for"] == "2m"
    assert "cocus:api_5xx:ratio_rate5m > 0.05" in alerts["CocusErrorRatioHigh"]["expr"]


def test_every_alert_has_a_firing_and_a_silent_promtool_case():
    rules = yaml.safe_load((OBSERVABILITY_DIR / RULES_PATH).read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert len(alerts) == 9
    firing: set[str] = set()
    silent: set[str] = set()
    for path in sorted(TESTS_DIR.glob("*.test.yaml")):
        for case in yaml.safe_load(path.read_text())["tests"]:
            checks = case.get("alert_rule_test", [])
            fires = {c["alertname"] for c in checks if c["exp_alerts"]}
            firing |= fires
            # Silent means silent all along in a case, not merely still pending before `for:` elapses.
            silent |= {c["alertname"] for c in checks if not c["exp_alerts"]} - fires
    assert firing == alerts, f"alerts without a firing case: {alerts - firing}"
    assert silent == alerts, f"alerts without a silent case: {alerts - silent}"

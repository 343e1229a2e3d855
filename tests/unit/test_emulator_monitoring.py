"""The emulator's platform metrics (parsed by the Prometheus client's own text parser) and target files."""

from __future__ import annotations

import json
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from cocusctl.emulator.monitoring import exposition, publish_targets, withdraw_targets

REV = "projects/local-staging/locations/local/services/svc/revisions/svc-00002-abc"
OLD = "projects/local-staging/locations/local/services/svc/revisions/svc-00001-xyz"


@dataclass
class Runtime:
    port: int | None
    healthy: bool


def test_instances_and_bounds_per_revision():
    revisions = {REV: {"scaling": {"minInstanceCount": 1, "maxInstanceCount": 3}}, OLD: {}}
    text = exposition(revisions, {REV: Runtime(41000, True), OLD: Runtime(None, False)})
    got = {(s.name, s.labels["revision"]): s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert got == {
        ("cocus_emulator_revision_instances", "svc-00002-abc"): 1, ("cocus_emulator_revision_instances", "svc-00001-xyz"): 0,
        ("cocus_emulator_revision_min_instances", "svc-00002-abc"): 1,
        ("cocus_emulator_revision_min_instances", "svc-00001-xyz"): 0,
        ("cocus_emulator_revision_max_instances", "svc-00002-abc"): 3,
        ("cocus_emulator_revision_max_instances", "svc-00001-xyz"): 100,  # Cloud Run's default
    }
    sample = next(s for f in text_string_to_metric_families(text) for s in f.samples)
    assert set(sample.labels) == {"namespace", "service", "revision"} and sample.labels["namespace"] == "local-staging"


def test_target_files_list_serving_revisions_and_go_away(tmp_path, monkeypatch):
    monkeypatch.setenv("COCUS_MONITORING_HOME", str(tmp_path))
    publish_targets("abc", "http://127.0.0.1:9280", {REV: Runtime(41000, True), OLD: Runtime(None, False)})
    services = json.loads((tmp_path / "targets" / "service-cloudrun-emulator-abc.json").read_text())
    assert services == [{"targets": ["127.0.0.1:41000"], "labels": {
        "namespace": "local-staging", "service": "svc", "revision": "svc-00002-abc", "platform": "cloudrun-emulator"}}]
    platform = json.loads((tmp_path / "targets" / "platform-cloudrun-emulator-abc.json").read_text())
    assert platform[0]["targets"] == ["127.0.0.1:9280"]
    assert platform[0]["labels"]["__metrics_path__"] == "/emulator/v1/metrics"
    withdraw_targets("abc")
    assert list((tmp_path / "targets").iterdir()) == []

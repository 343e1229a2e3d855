"""terraform/modules/monitoring read as HCL: wired into the Cloud Run root module, every policy notifies the
channels, every metric it references is one of the log-based metrics, and it reads the one SLO file."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_terraform_hcl import load_dir, unquote, variables

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "terraform" / "modules" / "monitoring"


def test_the_module_reads_the_repositorys_slo_file():
    assert (MODULE / "observability").resolve() == REPO / "observability"
    assert 'file("${path.module}/observability/slo.yaml")' in (MODULE / "slo.tf").read_text()


def test_every_alert_policy_notifies_the_channels_and_carries_a_severity():
    policies = [(unquote(name), body) for block in load_dir(MODULE)["resource"]
                for kind, named in block.items() if unquote(kind) == "google_monitoring_alert_policy"
                for name, body in named.items()]
    assert {name for name, _ in policies} == {"burn_rate", "ratio", "log_events", "autoscaler_at_max", "uptime"}
    for name, body in policies:
        assert body["notification_channels"] == "${var.notification_channels}", name
        assert "severity" in body and "severity" in str(body["user_labels"]), name


def test_every_referenced_log_metric_is_defined():
    slo_tf = (MODULE / "slo.tf").read_text()
    block = slo_tf[slo_tf.index("log_metrics = {"):slo_tf.index("# Cloud Monitoring SLOs")]
    defined = set(re.findall(r"^    (\w+) = \{$", block, re.M))
    used = set(re.findall(r"local\.metric_type\.(\w+)", (MODULE / "main.tf").read_text()))
    used |= set(re.findall(r'^\s+(?:numerator|metric)\s+= "(\w+)"$', slo_tf, re.M)) | {"api_requests"}
    assert used and used <= defined
    assert defined - used == set()  # and none is defined for nothing


def test_the_cloud_run_root_module_passes_every_module_variable():
    module = next(body for block in load_dir(REPO / "terraform" / "cloudrun")["module"]
                  for name, body in block.items() if unquote(name) == "monitoring")
    wanted = set(variables(MODULE))
    given = set(module) - {"source", "count", "__is_block__"}
    assert given == wanted

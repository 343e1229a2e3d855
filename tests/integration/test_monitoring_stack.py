"""`cocusctl monitoring start|stop|status` with the real Prometheus, Alertmanager and node-exporter, and the
emulator's revisions discovered through its target files."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

pytestmark = [pytest.mark.prometheus]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.loads(resp.read())


def _query(prom: str, expr: str) -> list:
    return _get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))["data"]["result"]


def _eventually(check, timeout: float = 30.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


@pytest.fixture
def cli(monkeypatch, tmp_path):
    monkeypatch.setenv("COCUS_MONITORING_HOME", str(tmp_path / "mon"))
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()

    def invoke(*args: str):
        res = runner.invoke(app, [*args, "-o", "json"])
        return res.exit_code, json.loads(res.stdout)

    yield invoke
    runner.invoke(app, ["monitoring", "stop"])


def test_start_status_stop(cli, prometheus_bin, alertmanager_bin, node_exporter_bin, tmp_path):
    code, started = cli("monitoring", "start")
    assert code == 0, started
    data = started["data"]
    assert data["started"] is True and data["prometheus_url"].startswith("http://127.0.0.1:")
    assert data["targets_dir"] == str(tmp_path / "mon" / "targets")
    # The service's rules are loaded, Alertmanager is wired, node-exporter is scraped.
    groups = _get(f"{data['prometheus_url']}/api/v1/rules")["data"]["groups"]
    assert sorted(g["name"] for g in groups) == ["cocus-rag.alerts", "cocus-rag.platform", "cocus-rag.revisions",
                                                 "cocus-rag.slo"]
    assert _eventually(lambda: _get(f"{data['prometheus_url']}/api/v1/alertmanagers")["data"]["activeAlertmanagers"])
    assert _eventually(lambda: _query(data["prometheus_url"], 'up{job="node"} == 1'))
    code, again = cli("monitoring", "start")
    assert code == 0 and again["data"]["started"] is False and again["data"]["pids"] == data["pids"]
    code, status = cli("monitoring", "status")
    assert code == 0 and status["data"]["alertmanager_url"] == data["alertmanager_url"]
    code, stopped = cli("monitoring", "stop")
    assert code == 0 and sorted(stopped["data"]["stopped"]) == ["alertmanager", "node-exporter", "prometheus"]
    code, status = cli("monitoring", "status")
    assert code == 3 and status["errors"][0]["message"] == "local monitoring is not running"


def test_a_missing_program_is_exit_3_and_starts_nothing(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, envelope = cli("monitoring", "start")
    assert code == 3
    assert envelope["errors"][0]["message"] == (
        "prometheus-node-exporter, prometheus-alertmanager, prometheus not found")
    assert not (tmp_path / "mon" / "monitoring.json").exists()


@pytest.mark.docker
@pytest.mark.registry
def test_emulator_revisions_are_discovered(cli, prometheus_bin, alertmanager_bin, node_exporter_bin,
                                           docker_engine, local_registry, base_image, tmp_path):
    """Prometheus finds the emulator (its platform metrics) and every serving revision through the files the
    emulator writes; the platform recording rules turn the emulator's gauges into cocus:instances:*."""
    from tests.support.cloudrun import build_test_image, emulator_process, write_config

    image = build_test_image("v1", registry=local_registry)
    code, started = cli("monitoring", "start")
    prom = started["data"]["prometheus_url"]
    with emulator_process(tmp_path / "emu") as emu:
        config = tmp_path / "cocus.yaml"
        write_config(config, emu.endpoint, service="disc", max_instances=3)
        code, deployed = cli("--config", str(config), "deploy", "--env", "local-staging", "--image", image.ref)
        assert code == 0, deployed
        rev = deployed["data"]["revision"]
        targets = _eventually(lambda: [t for t in _get(f"{prom}/api/v1/targets")["data"]["activeTargets"]
                                       if t["labels"].get("revision") == rev])
        assert targets and targets[0]["labels"]["job"] == "cocus-rag"
        assert targets[0]["labels"]["namespace"] == "local-staging" and targets[0]["labels"]["service"] == "disc"
        count = _eventually(lambda: _query(prom, f'cocus:instances:count{{revision="{rev}"}}'), timeout=45)
        assert count and count[0]["value"][1] == "1"
        assert _query(prom, f'cocus:instances:max{{revision="{rev}"}}')[0]["value"][1] == "3"
        code, status = cli("--config", str(config), "status", "--env", "local-staging")
        assert status["data"]["monitoring"]["prometheus"] == prom

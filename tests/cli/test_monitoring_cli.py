"""`cocusctl monitoring render`: generated files beside the SLO file; --check exits 12 when they are stale."""

from __future__ import annotations

import json
import shutil

import yaml

from cocusctl.cli import app
from cocusctl.core.observability.slo import SLO_FILE


def test_render_writes_beside_the_slo_file_and_check_finds_stale_files(runner, tmp_path):
    slo = tmp_path / "slo.yaml"
    shutil.copy(SLO_FILE, slo)
    res = runner.invoke(app, ["monitoring", "render", "--slo", str(slo), "-o", "json"])
    assert res.exit_code == 0, res.output
    files = json.loads(res.stdout)["data"]["files"]
    assert [(f["path"].removeprefix(str(tmp_path)), f["status"]) for f in files] == [
        ("/prometheus/cocus-rag.rules.yaml", "created"), ("/grafana/cocus-infra.json", "created"),
        ("/grafana/cocus-rag.json", "created")]
    assert runner.invoke(app, ["monitoring", "render", "--slo", str(slo), "--check"]).exit_code == 0

    data = yaml.safe_load(slo.read_text())
    data["slos"]["latency"]["objective"] = 0.95
    slo.write_text(yaml.safe_dump(data))
    rules_before = (tmp_path / "prometheus" / "cocus-rag.rules.yaml").read_text()
    res = runner.invoke(app, ["monitoring", "render", "--slo", str(slo), "--check", "-o", "json"])
    assert res.exit_code == 12
    envelope = json.loads(res.stdout)
    assert envelope["errors"][0]["message"] == (
        "2 generated file(s) out of date: cocus-rag.rules.yaml, cocus-rag.json")
    assert (tmp_path / "prometheus" / "cocus-rag.rules.yaml").read_text() == rules_before  # nothing written


def test_a_bad_slo_file_is_one_line_and_exit_2(runner, tmp_path):
    slo = tmp_path / "slo.yaml"
    slo.write_text("version: 1\nservice: x\n")
    res = runner.invoke(app, ["monitoring", "render", "--slo", str(slo)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert f"{slo}: scrape_job: Field required" in res.output
    assert not (tmp_path / "prometheus").exists()

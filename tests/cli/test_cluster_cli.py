"""`cocusctl cluster …` without a running cluster: exit codes, the JSON envelope, bad input changes nothing."""

from __future__ import annotations

import json

from cocusctl.cli import app


def test_status_of_a_cluster_that_does_not_run_exits_3_with_its_state(runner, tmp_path):
    res = runner.invoke(app, ["cluster", "status", "--home", str(tmp_path / "c"), "-o", "json"])
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert doc["status"] == "error" and doc["errors"][0]["code"] == "not_available"
    data = doc["data"]
    assert data["running"] is False and data["context"] == "cocus-local"
    assert [c["name"] for c in data["components"]] == ["etcd", "kube-apiserver", "kube-controller-manager",
                                                       "kube-scheduler", "node-agent"]
    assert not (tmp_path / "c").exists()


def test_human_status_says_how_to_start(runner, tmp_path):
    res = runner.invoke(app, ["cluster", "status", "--home", str(tmp_path / "c")])
    assert res.exit_code == 3
    assert "cluster not running" in res.stdout
    assert "hint: start it with `cocusctl cluster start`" in res.stderr


def test_a_pod_cidr_off_loopback_is_refused_before_anything_starts(runner, tmp_path):
    home = tmp_path / "c"
    res = runner.invoke(app, ["cluster", "start", "--home", str(home), "--pod-cidr", "10.0.0.0/16"])
    assert res.exit_code == 2
    assert "--pod-cidr must be a loopback network" in res.stderr
    assert "Traceback" not in res.output
    assert not home.exists()


def test_stop_without_a_cluster_is_a_no_op(runner, tmp_path):
    res = runner.invoke(app, ["cluster", "stop", "--home", str(tmp_path / "c"), "-o", "json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["data"]["stopped"] is False

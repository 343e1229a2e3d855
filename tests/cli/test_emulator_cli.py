"""`cocusctl emulator start|status|stop` run a real background emulator and stop only what they started."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from cocusctl.cli import app

pytestmark = [pytest.mark.docker]


def _json(res) -> dict:
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["version"] == 1 and doc["status"] == "ok"
    return doc["data"]


def test_start_status_stop(runner, tmp_path, docker_engine, monkeypatch):
    home = ["--home", str(tmp_path / "emu")]
    started = _json(runner.invoke(app, ["emulator", "start", "--port", "0", "-o", "json", *home]))
    try:
        assert started["running"] and started["started"]
        assert started["endpoint"] == f"http://127.0.0.1:{started['port']}"
        with urllib.request.urlopen(started["endpoint"] + "/v2/projects/p/locations/l/services",  # noqa: S310
                                    timeout=5) as resp:
            assert json.loads(resp.read()) == {"services": []}
        again = _json(runner.invoke(app, ["emulator", "start", "--port", "0", "-o", "json", *home]))
        assert (again["started"], again["pid"]) == (False, started["pid"])
        status = _json(runner.invoke(app, ["emulator", "status", "-o", "json", *home]))
        assert status["endpoint"] == started["endpoint"]
        human = runner.invoke(app, ["emulator", "status", *home])
        assert f"emulator running: {started['endpoint']}" in human.stdout
        # An environment with `api_endpoint: emulator` finds it through the same home.
        monkeypatch.setenv("COCUS_EMULATOR_HOME", str(tmp_path / "emu"))
        config = tmp_path / "cocus.yaml"
        config.write_text(json.dumps({"version": 1, "default_environment": "dev", "environments": {
            "dev": {"target": "cloudrun", "project": "p", "region": "r", "cloudrun": {"api_endpoint": "emulator"}}}}))
        svc = _json(runner.invoke(app, ["--config", str(config), "status", "-o", "json"]))
        assert (svc["exists"], svc["service"], svc["target"]) == (False, "cocus-rag", "cloudrun")
    finally:
        stopped = _json(runner.invoke(app, ["emulator", "stop", "-o", "json", *home]))
    assert stopped == {**stopped, "stopped": True, "pid": started["pid"]}
    assert not os.path.exists(f"/proc/{started['pid']}/cmdline") or "cocusctl.emulator" not in open(
        f"/proc/{started['pid']}/cmdline").read()
    status = runner.invoke(app, ["emulator", "status", "-o", "json", *home])
    assert status.exit_code == 3  # not running: scripts can test for it
    assert json.loads(status.stdout)["data"]["running"] is False
    assert _json(runner.invoke(app, ["emulator", "stop", "-o", "json", *home]))["stopped"] is False


def test_stop_leaves_a_foreign_pid_alone(runner, tmp_path):
    """A PID file naming a process that is not this emulator is never signalled."""
    home = tmp_path / "emu"
    home.mkdir()
    (home / "emulator.pid").write_text(str(os.getpid()))
    data = _json(runner.invoke(app, ["emulator", "stop", "-o", "json", "--home", str(home)]))
    assert data["stopped"] is False
    assert not (home / "emulator.pid").exists()


def test_bad_port_is_a_usage_error(runner, tmp_path):
    res = runner.invoke(app, ["emulator", "start", "--port", "70000", "--home", str(tmp_path)])
    assert res.exit_code == 2
    assert "--port must be between 0 and 65535" in res.stderr


def test_environment_naming_the_emulator_needs_it_running(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("COCUS_EMULATOR_HOME", str(tmp_path / "none"))
    config = tmp_path / "cocus.yaml"
    config.write_text(json.dumps({"version": 1, "default_environment": "dev", "environments": {
        "dev": {"target": "cloudrun", "project": "p", "region": "r", "cloudrun": {"api_endpoint": "emulator"}}}}))
    res = runner.invoke(app, ["--config", str(config), "status", "--env", "dev"])
    assert res.exit_code == 3, res.output
    assert "error: the environment uses the local Cloud Run emulator, but it is not running" in res.stderr
    assert "hint: start it with `cocusctl emulator start`" in res.stderr


def test_gke_environment_is_refused_by_cloudrun_commands(runner, tmp_path):
    config = tmp_path / "cocus.yaml"
    config.write_text(json.dumps({"version": 1, "default_environment": "k", "environments": {
        "k": {"target": "gke", "project": "p", "region": "r"}}}))
    res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "k", "--target", "cloudrun",
                              "--image", "127.0.0.1:5000/x@sha256:" + "a" * 64])
    assert res.exit_code == 2
    assert "error: --target cloudrun does not match environment 'k', which targets gke" in res.stderr

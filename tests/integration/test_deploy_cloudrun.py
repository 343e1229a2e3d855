"""`deploy`, `split-traffic` and `rollback` against the emulator, with real containers and real load.

All load goes to 127.0.0.1 and is bounded in requests and seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def images(docker_engine, local_registry, base_image):
    from tests.support.cloudrun import build_test_image

    return {
        "v1": build_test_image("v1", registry=local_registry),
        "v2": build_test_image("v2", registry=local_registry),
        "v3": build_test_image("v3", registry=local_registry),
        "crash": build_test_image("v1", "crash", registry=local_registry),
        "slow": build_test_image("v1", "slow", registry=local_registry),
        "badquery": build_test_image("v1", "badquery", registry=local_registry),
        "degrade": build_test_image("v1", "degrade", registry=local_registry),
    }


@pytest.fixture(scope="module")
def emulator(tmp_path_factory, images):
    from tests.support.cloudrun import emulator_process

    with emulator_process(tmp_path_factory.mktemp("emu-deploy")) as info:
        yield info


@pytest.fixture
def cli(tmp_path, emulator, monkeypatch):
    """Run cocusctl in-process against a config naming a fresh service; returns (invoke, api, config)."""
    from cocusctl.adapters.cloudrun import CloudRun
    from cocusctl.cli import app
    from tests.support.cloudrun import write_config

    service = "svc-" + os.urandom(3).hex()
    config = tmp_path / "cocus.yaml"
    write_config(config, emulator.endpoint, service=service)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--config", str(config), *args])

    api = CloudRun("local-staging", "local", emulator.endpoint)
    return invoke, api, service, config


def _snapshot(api, service: str) -> tuple:
    """The emulator's whole state for a service, as the API returns it."""
    raw = api.services.get_service(name=f"{api.parent}/services/{service}")
    revs = sorted(r.name for r in api.revisions.list_revisions(parent=raw.name))
    return raw.etag, raw.generation, list(raw.traffic), list(raw.traffic_statuses), revs


def _deploy_json(invoke, *args: str) -> dict:
    res = invoke("deploy", "--env", "local-staging", "-o", "json", *args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["data"]


def test_crashing_deploy_under_load_loses_no_request_and_keeps_traffic(cli, images):
    from tests.support.cloudrun import LoadGenerator

    invoke, api, service, _ = cli
    first = _deploy_json(invoke, "--image", images["v1"].ref)
    before = api.get_service(service)
    with LoadGenerator(first["url"], threads=4, max_requests=5000, max_seconds=60) as load:
        time.sleep(0.5)
        res = invoke("deploy", "--env", "local-staging", "--image", images["crash"].ref, "-o", "json")
        time.sleep(0.5)
    assert res.exit_code == 11, res.output
    assert "is not ready" in res.stderr and "exited with code 3" in res.stderr
    assert "FATAL: cannot open the vector index" in res.stderr  # the container's last log lines
    assert "previous traffic restored" in res.stderr
    assert load.failures == [] and load.total > 50
    assert set(load.revisions) == {first["revision"]}
    after = api.get_service(service)
    assert after.statuses == before.statuses
    # --output json reports the failure with the traffic before and after (restored).
    doc = json.loads(res.stdout)
    assert (doc["status"], doc["exit_code"], doc["errors"][0]["code"]) == ("error", 11, "deploy_failed")
    rows = {k: [(r["revision"], r["percent"], r["tag"]) for r in doc["data"][k]]
            for k in ("traffic_before", "traffic_after")}
    assert rows["traffic_after"] == rows["traffic_before"] == [(first["revision"], 100, "candidate")]
    assert doc["data"]["steps"] == [] and doc["data"]["outcome"] == "failed"
    # The service keeps serving the old revision but reports why it is not Ready (as Cloud Run does).
    status = json.loads(invoke("status", "--env", "local-staging", "-o", "json").stdout)["data"]
    conds = {c["type"]: c for c in status["conditions"]}
    assert status["ready"] is False and conds["RoutesReady"]["state"] == "SUCCEEDED"
    assert conds["ConfigurationsReady"]["state"] == "FAILED" and "exited with code 3" in conds[
        "ConfigurationsReady"]["message"]
    assert [r["percent"] for r in status["revisions"] if r["name"] == first["revision"]] == [100]


def test_canary_under_load_loses_no_request(cli, images):
    from tests.support.cloudrun import LoadGenerator

    invoke, api, service, _ = cli
    first = _deploy_json(invoke, "--image", images["v1"].ref)
    with LoadGenerator(first["url"], threads=4, max_requests=8000, max_seconds=90) as load:
        time.sleep(0.5)
        second = _deploy_json(invoke, "--image", images["v2"].ref, "--strategy", "canary")
        time.sleep(0.5)
    assert second["steps"] == ["candidate", "smoke", "10", "50", "100"]
    assert load.failures == [] and load.total > 100
    assert load.revisions.get(first["revision"], 0) > 0 and load.revisions.get(second["revision"], 0) > 0
    state = api.get_service(service)
    assert state.serving() == {second["revision"]: 100}
    assert [r["revision"] for r in second["traffic_before"]] == [first["revision"]]


def test_same_deploy_twice_creates_nothing(cli, images):
    invoke, api, service, _ = cli
    first = _deploy_json(invoke, "--image", images["v1"].ref)
    snap = _snapshot(api, service)
    again = _deploy_json(invoke, "--image", images["v1"].ref)
    assert again["revision"] == first["revision"]
    assert (again["created"], again["changed"]) == (False, False)
    assert _snapshot(api, service) == snap


def test_ninety_ten_split_over_2000_requests(cli, images):
    import httpx

    invoke, api, service, _ = cli
    a = _deploy_json(invoke, "--image", images["v1"].ref)["revision"]
    # Make B a ready revision that serves nothing yet: deploy, then roll back to A.
    b = _deploy_json(invoke, "--image", images["v2"].ref)["revision"]
    res = invoke("rollback", "--env", "local-staging", "--to", a)
    assert res.exit_code == 0, res.output
    res = invoke("split-traffic", "--env", "local-staging", "-o", "json", f"{a}=90", f"{b}=10")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)["data"]
    assert {(r["revision"], r["percent"]) for r in data["traffic_after"] if r["percent"]} == {(a, 90), (b, 10)}
    url = api.get_service(service).uri
    seen: Counter[str] = Counter()
    with httpx.Client(timeout=10) as client:
        for _ in range(2000):
            seen[client.get(url).json()["revision"]] += 1
    assert sum(seen.values()) == 2000
    share_b = 100 * seen[b] / 2000
    assert abs(share_b - 10) <= 3, seen
    counts = api.request_counts(service)
    assert counts[a] >= seen[a] and counts[b] >= seen[b]
    res = invoke("split-traffic", "--env", "local-staging", "--to-latest")
    assert res.exit_code == 0, res.output
    assert api.get_service(service).serving() == {b: 100}


def test_ctrl_c_during_a_canary_step_restores_traffic(cli, images):
    invoke, api, service, config = cli
    first = _deploy_json(invoke, "--image", images["v1"].ref)
    before = api.get_service(service)
    from tests.support.cloudrun import write_config

    slow = config.parent / "slow-canary.yaml"  # same service, a long pause between canary steps
    write_config(slow, api.endpoint, service=service, step_pause_s=60)
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cocusctl", "--config", str(slow), "deploy", "--env", "local-staging",
         "--image", images["v3"].ref, "--strategy", "canary"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A run started in the background (`cmd &` in a script) ignores SIGINT, and so would this child.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            serving = api.get_service(service).serving()
            if len(serving) == 2:
                break
            time.sleep(0.2)
        assert len(serving) == 2, serving  # the 10 % step is live
        time.sleep(1.5)  # let the CLI verify the step and start holding it
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "holding 60s" in err  # interrupted while holding the 10 % step
    assert "previous traffic restored" in err
    assert api.get_service(service).statuses == before.statuses
    assert api.get_service(service).serving() == {first["revision"]: 100}


@pytest.mark.parametrize(
    "args,message",
    [
        (("split-traffic", "{a}=90", "{a}-x=5"), "must sum to 100"),
        (("split-traffic", "{a}=50", "nope-rev=50"), "unknown revision or tag 'nope-rev'"),
        (("split-traffic", "{a}=fifty"), "whole number"),
        (("deploy", "--image", "127.0.0.1:5000/x@sha256:1234"), "malformed image reference"),
        (("deploy", "--image", "{v2}", "--target", "gke"), "does not match environment"),
    ],
)
def test_bad_input_is_a_usage_error_and_changes_nothing(cli, images, args, message):
    invoke, api, service, _ = cli
    a = _deploy_json(invoke, "--image", images["v1"].ref)["revision"]
    snap = _snapshot(api, service)
    argv = [x.format(a=a, v2=images["v2"].ref) for x in args]
    res = invoke(argv[0], "--env", "local-staging", *argv[1:])
    assert res.exit_code == 2, res.output
    error_lines = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0], res.stderr
    assert "Traceback" not in res.output
    assert _snapshot(api, service) == snap


def test_duplicate_tags_are_refused_before_anything_changes(cli, images):
    from cocusctl.core.cloudrun.model import TrafficEntry
    from cocusctl.core.cloudrun.operations import apply_traffic
    from cocusctl.core.errors import UsageError
    from cocusctl.core.reporting import NullReporter

    invoke, api, service, _ = cli
    a = _deploy_json(invoke, "--image", images["v1"].ref)["revision"]
    b = _deploy_json(invoke, "--image", images["v2"].ref)["revision"]
    snap = _snapshot(api, service)
    target = [TrafficEntry(a, 50, "blue"), TrafficEntry(b, 50, "blue")]
    with pytest.raises(UsageError, match="unique"):
        apply_traffic(api, NullReporter(), "local-staging", service, api.get_service(service), target,
                      action="split-traffic")
    assert _snapshot(api, service) == snap


def test_timeout_waiting_for_ready_restores_traffic(cli, images):
    from tests.support.cloudrun import write_config

    invoke, api, service, config = cli
    _deploy_json(invoke, "--image", images["v1"].ref)
    before = api.get_service(service)
    write_config(config, api.endpoint, service=service, ready_timeout_s=2, env={"START_DELAY": "30"})
    res = invoke("deploy", "--env", "local-staging", "--image", images["slow"].ref)
    assert res.exit_code == 10, res.output
    assert "did not finish within 2s; previous traffic restored" in res.stderr
    assert api.get_service(service).statuses == before.statuses


def test_failed_smoke_test_restores_traffic(cli, images):
    invoke, api, service, _ = cli
    first = _deploy_json(invoke, "--image", images["v1"].ref)
    before = api.get_service(service)
    res = invoke("deploy", "--env", "local-staging", "--image", images["badquery"].ref)
    assert res.exit_code == 11, res.output
    assert "smoke test failed: POST /v1/query" in res.stderr and "HTTP 500" in res.stderr
    after = api.get_service(service)
    assert after.statuses == before.statuses and after.serving() == {first["revision"]: 100}


def test_failed_health_check_during_a_canary_step_restores_traffic(cli, images):
    from tests.support.cloudrun import LoadGenerator, write_config

    invoke, api, service, config = cli
    first = _deploy_json(invoke, "--image", images["v1"].ref)
    before = api.get_service(service)
    write_config(config, api.endpoint, service=service, step_pause_s=30, env={"DEGRADE_AFTER": "3"})
    with LoadGenerator(first["url"], threads=2, max_requests=5000, max_seconds=60) as load:
        res = invoke("deploy", "--env", "local-staging", "--image", images["degrade"].ref, "--strategy", "canary")
    assert res.exit_code == 11, res.output
    assert "health check failed: GET /readyz on the candidate gave HTTP 503" in res.stderr
    assert "previous traffic restored" in res.stderr
    assert api.get_service(service).statuses == before.statuses
    assert load.failures == []


def test_failed_first_deploy_leaves_no_service(cli, images):
    invoke, api, service, _ = cli
    res = invoke("deploy", "--env", "local-staging", "--image", images["crash"].ref)
    assert res.exit_code == 11, res.output
    assert "FATAL: cannot open the vector index" in res.stderr
    assert api.get_service(service) is None


def test_promote_refuses_without_a_healthy_source(cli, images):
    invoke, api, service, _ = cli
    res = invoke("promote", "--from", "local-staging", "--to", "local-prod")
    assert res.exit_code == 2 and f"service {service!r} does not exist in environment 'local-staging'" in res.stderr
    res = invoke("promote", "--from", "local-staging", "--to", "local-staging")
    assert res.exit_code == 2 and "--from and --to name the same environment" in res.stderr
    a = _deploy_json(invoke, "--image", images["v1"].ref)["revision"]
    b = _deploy_json(invoke, "--image", images["v2"].ref)["revision"]
    assert invoke("split-traffic", "--env", "local-staging", f"{a}=50", f"{b}=50").exit_code == 0
    res = invoke("promote", "--from", "local-staging", "--to", "local-prod")
    assert res.exit_code == 2 and "no single revision serves 100 %" in res.stderr
    prod = api.__class__("local-prod", "local", api.endpoint)
    assert prod.get_service(service) is None  # nothing reached the target


def test_terraform_managed_service_keeps_its_infrastructure_fields(cli, images):
    """With `infrastructure: true`, a deploy changes image, revision and traffic — never what Terraform owns."""
    from cocusctl.adapters.cloudrun import CloudRun
    from cocusctl.core.cloudrun.deploy import DeployPlan
    from cocusctl.core.cloudrun.model import TrafficEntry
    from cocusctl.core.config import ReleaseSettings, RevisionSettings
    from cocusctl.core.images import ImageRef

    invoke, api, service, _ = cli
    _deploy_json(invoke, "--image", images["v1"].ref)
    # Terraform's fields, as `terraform apply` would have set them on the service.
    raw = api.services.get_service(name=f"{api.parent}/services/{service}")
    raw.template.containers[0].env.append(api._run.EnvVar(name="OWNED_BY", value="terraform"))
    raw.template.scaling.max_instance_count = 3
    raw.template.revision = ""
    api.services.update_service(service=raw).result()
    terraform_template = api.services.get_service(name=raw.name).template

    managed = CloudRun(api.project, api.region, api.endpoint, release_fields_only=True)
    plan = DeployPlan.from_settings("local-staging", service, ImageRef.pinned(images["v2"].ref),
                                    RevisionSettings(env={"FROM_DEPLOY": "x"}, max_instances=50), ReleaseSettings(),
                                    environ={})
    state = managed.update_service(service, spec=plan.spec, traffic=[TrafficEntry(None, 100)], timeout=60)

    after = api.services.get_service(name=raw.name).template
    assert after.containers[0].image == images["v2"].ref and after.revision == plan.spec.revision
    assert list(after.containers[0].env) == list(terraform_template.containers[0].env)
    assert after.scaling.max_instance_count == 3
    assert state.latest_created == plan.spec.revision

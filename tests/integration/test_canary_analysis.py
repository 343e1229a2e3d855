"""Metric-gated canaries on the emulator, from the router's counters: a candidate that passes the smoke test
but fails 20 % of its queries is stopped at the first step; a good one goes through with its analysis.

Load is POST /v1/query on 127.0.0.1, bounded in requests and seconds.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

QUERY = {"question": "What is the answer?"}


@pytest.fixture(scope="module")
def images(docker_engine, local_registry, base_image):
    from tests.support.cloudrun import build_test_image

    return {"v1": build_test_image("v1", registry=local_registry),
            "v2": build_test_image("v2", registry=local_registry),
            "flaky": build_test_image("v1", "flaky", registry=local_registry)}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory, images):
    from tests.support.cloudrun import emulator_process

    with emulator_process(tmp_path_factory.mktemp("emu-canary")) as info:
        yield info


@pytest.fixture
def deploy(tmp_path, emulator, monkeypatch):
    from cocusctl.cli import app
    from tests.support.cloudrun import write_config

    config = tmp_path / "cocus.yaml"
    write_config(config, emulator.endpoint, service="can-" + os.urandom(3).hex(), canary_steps=[10, 50, 100],
                 step_pause_s=6, analysis={"min_requests": 20, "max_error_ratio_increase": 0.02})
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()

    def run(image: str, *args: str) -> tuple[int, dict]:
        res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image", image,
                                  "-o", "json", *args])
        return res.exit_code, json.loads(res.stdout)

    return run


def test_a_candidate_failing_20_percent_of_queries_is_stopped_at_the_first_step(deploy, images):
    from tests.support.cloudrun import LoadGenerator

    code, first = deploy(images["v1"].ref)
    assert code == 0, first
    stable = first["data"]["revision"]
    with LoadGenerator(first["data"]["url"], path="/v1/query", json_body=QUERY, threads=4, max_requests=20000,
                       max_seconds=120) as load:
        time.sleep(0.5)
        code, envelope = deploy(images["flaky"].ref, "--strategy", "canary")
        time.sleep(0.5)
    assert code == 11, envelope
    assert envelope["errors"][0]["code"] == "canary_analysis_failed"
    assert envelope["errors"][0]["message"].startswith("canary analysis failed at 10 %: 5xx ratio ")
    data = envelope["data"]
    candidate = data["revision"]
    assert data["outcome"] == "failed" and data["steps"] == ["candidate", "smoke", "10"]
    [analysis] = data["analysis"]
    assert analysis["step_percent"] == 10 and analysis["source"] == "router" and analysis["verdict"] == "fail"
    assert analysis["candidate"]["revisions"] == [candidate] and analysis["stable"]["revisions"] == [stable]
    assert analysis["candidate"]["requests"] >= 20 and analysis["stable"]["errors"] == 0
    assert 0.1 <= analysis["candidate"]["errors"] / analysis["candidate"]["requests"] <= 0.3
    # Traffic is back where it was: the stable revision serves everything.
    assert [(r["revision"], r["percent"]) for r in data["traffic_after"] if r["percent"]] == [(stable, 100)]
    # Only the candidate failed requests, and no more than its 10 % share at 20 % failures allows
    # (3 % of all requests, half again as much as 0.1 x 0.2 for the randomness of the split).
    assert set(load.failed_revisions) == {candidate}
    assert 0 < len(load.failures) <= 0.03 * load.total, (len(load.failures), load.total, load.revisions)
    assert load.revisions.get(candidate, 0) + load.failed_revisions[candidate] <= 0.15 * load.total


def test_a_good_candidate_passes_each_analysed_step(deploy, images):
    from tests.support.cloudrun import LoadGenerator

    code, first = deploy(images["v1"].ref)
    assert code == 0, first
    with LoadGenerator(first["data"]["url"], path="/v1/query", json_body=QUERY, threads=4, max_requests=20000,
                       max_seconds=120) as load:
        code, envelope = deploy(images["v2"].ref, "--strategy", "canary")
    assert code == 0, envelope
    data = envelope["data"]
    assert data["steps"] == ["candidate", "smoke", "10", "50", "100"]
    assert [(a["step_percent"], a["verdict"]) for a in data["analysis"]] == [(10, "pass"), (50, "pass")]
    assert all(c["passed"] for a in data["analysis"] for c in a["checks"])
    assert {c["metric"] for c in data["analysis"][0]["checks"]} == {"error_ratio", "p95_s"}
    assert data["analysis"][0]["candidate"]["p95_s"] is not None
    assert load.failures == []

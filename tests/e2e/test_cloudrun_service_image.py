"""The real RAG service image on the emulator: deploy, smoke test with an API key, real queries, canary.

Uses `COCUS_SERVICE_IMAGE=REGISTRY/REPO@sha256:…` when set, else the session's `cocusctl build` of the
real image (the `service_image` fixture).
"""

from __future__ import annotations

import json
import os
import urllib.request

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

API_KEY = "e2e-" + os.urandom(8).hex()


@pytest.fixture
def image(request: pytest.FixtureRequest) -> str:
    if os.environ.get("COCUS_SERVICE_IMAGE"):
        return os.environ["COCUS_SERVICE_IMAGE"]
    return request.getfixturevalue("service_image")["pushed_ref"]


def _query(url: str, question: str) -> dict:
    req = urllib.request.Request(url + "/v1/query", data=json.dumps({"question": question}).encode(),
                                 method="POST", headers={"Content-Type": "application/json", "X-API-Key": API_KEY})
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.loads(resp.read())


def test_service_image_on_the_emulator(tmp_path, monkeypatch, docker_engine, local_registry, image):
    from tests.support.cloudrun import LoadGenerator, emulator_process, write_config

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COCUS_SMOKE_API_KEY", API_KEY)
    runner = CliRunner()
    with emulator_process(tmp_path / "emu") as emu:
        config = tmp_path / "cocus.yaml"
        write_config(config, emu.endpoint, service="cocus-rag", registry=local_registry, memory="1Gi",
                     smoke_query="How do I read a file line by line?", ready_timeout_s=180,
                     env={"COCUS_API_KEYS": API_KEY, "COCUS_HOST": "127.0.0.1"})
        res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image", image,
                                  "-o", "json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)["data"]
        assert API_KEY not in res.output  # the smoke key is never printed
        answer = _query(data["url"], "How do I open a file for writing?")
        assert answer.get("sources"), answer

        def redeploy(log_level: str, load: LoadGenerator):  # noqa: ANN202
            write_config(config, emu.endpoint, service="cocus-rag", registry=local_registry, memory="1Gi",
                         smoke_query="How do I read a file line by line?", ready_timeout_s=180, step_pause_s=2,
                         env={"COCUS_API_KEYS": API_KEY, "COCUS_HOST": "127.0.0.1", "COCUS_LOG_LEVEL": log_level})
            return runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image",
                                       image, "--strategy", "canary", "-o", "json"])

        # A broken setting: the new revision crashes at start; under load nothing fails, traffic stays.
        with LoadGenerator(data["url"], path="/readyz", threads=2, max_requests=4000, max_seconds=120) as load:
            res = redeploy("loud", load)
        assert res.exit_code == 11, res.output
        assert "invalid setting log_level" in res.stdout  # the container's own last log line
        assert load.failures == [] and set(load.revisions) == {data["revision"]}

        # A config change is a new revision of the same digest: canary it under load, lose nothing.
        with LoadGenerator(data["url"], path="/readyz", threads=2, max_requests=4000, max_seconds=120) as load:
            res = redeploy("WARNING", load)
        assert res.exit_code == 0, res.output
        second = json.loads(res.stdout)["data"]
        assert second["revision"] != data["revision"] and second["digest"] == data["digest"]
        assert load.failures == [] and load.total > 20
        assert set(load.revisions) == {data["revision"], second["revision"]}

"""The real RAG service image on the emulator: API keys from the local secret store (as Cloud Run reads
Secret Manager), the settings contract checked, deploy, smoke test, real queries, canary.

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


def _query(url: str, question: str) -> dict:
    req = urllib.request.Request(url + "/v1/query", data=json.dumps({"question": question}).encode(),
                                 method="POST", headers={"Content-Type": "application/json", "X-API-Key": API_KEY})
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.loads(resp.read())


def test_service_image_on_the_emulator(tmp_path, monkeypatch, docker_engine, local_registry, service_image_ref):
    image = service_image_ref
    from tests.support.cloudrun import LoadGenerator, emulator_process, write_config

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COCUS_SMOKE_API_KEY", API_KEY)
    monkeypatch.setenv("COCUS_SECRETS_FILE", str(tmp_path / "secrets" / "local-secrets.json"))
    runner = CliRunner()
    keys = {"COCUS_API_KEYS": {"secret": "cocus-rag-api-keys", "version": "1"}}
    settings = {"service": "cocus-rag", "registry": local_registry, "contract": "cocus-rag", "memory": "1Gi",
                "smoke_query": "How do I read a file line by line?", "ready_timeout_s": 180, "secrets": keys}
    with emulator_process(tmp_path / "emu") as emu:
        config = tmp_path / "cocus.yaml"
        write_config(config, emu.endpoint, env={"COCUS_HOST": "127.0.0.1"}, **settings)
        res = runner.invoke(app, ["--config", str(config), "secrets", "set", "cocus-rag-api-keys", "--env",
                                  "local-staging"], input=API_KEY + "\n")
        assert res.exit_code == 0 and "added version 1" in res.stdout and API_KEY not in res.output
        res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image", image,
                                  "-o", "json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)["data"]
        assert API_KEY not in res.output  # the smoke key is never printed
        answer = _query(data["url"], "How do I open a file for writing?")  # the key came from the store
        assert answer.get("sources"), answer
        assert API_KEY not in (tmp_path / "emu" / "state" / "state.json").read_text()  # the reference, not the value

        # A setting the service does not read: refused before anything is deployed.
        write_config(config, emu.endpoint, env={"COCUS_HOST": "127.0.0.1", "COCUS_LOG_LEVL": "DEBUG"}, **settings)
        res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image", image])
        assert res.exit_code == 2
        assert "environment 'local-staging': revision.env.COCUS_LOG_LEVL: the service does not read" in res.stderr

        # A secret version the store does not hold: the new revision fails as on Cloud Run; under load nothing
        # fails and traffic stays where it was.
        missing = {"COCUS_API_KEYS": {"secret": "cocus-rag-api-keys", "version": "2"}}
        write_config(config, emu.endpoint, env={"COCUS_HOST": "127.0.0.1"}, **{**settings, "secrets": missing})
        with LoadGenerator(data["url"], path="/readyz", threads=2, max_requests=4000, max_seconds=120) as load:
            res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image", image])
        assert res.exit_code == 11, res.output
        assert "Secret projects/local-staging/secrets/cocus-rag-api-keys/versions/2 was not found" in res.stderr
        assert load.failures == [] and set(load.revisions) == {data["revision"]}

        # A config change is a new revision of the same digest: canary it under load, lose nothing.
        write_config(config, emu.endpoint, env={"COCUS_HOST": "127.0.0.1", "COCUS_LOG_LEVEL": "WARNING"},
                     step_pause_s=2, **settings)
        with LoadGenerator(data["url"], path="/readyz", threads=2, max_requests=4000, max_seconds=120) as load:
            res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image",
                                      image, "--strategy", "canary", "-o", "json"])
        assert res.exit_code == 0, res.output
        second = json.loads(res.stdout)["data"]
        assert second["revision"] != data["revision"] and second["digest"] == data["digest"]
        assert load.failures == [] and load.total > 20
        assert set(load.revisions) == {data["revision"], second["revision"]}

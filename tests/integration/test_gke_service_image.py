"""The real RAG service image on the GKE target (the local cluster), through the CLI: the chart's hardening
(non-root, read-only root, no capabilities) with the real service, its API keys from the local secret store,
a real answer, and a broken setting rolled back under load with no failed request.

Uses `COCUS_SERVICE_IMAGE=REGISTRY/REPO@sha256:…` when set, else the session's `cocusctl build` of the real
image (the `service_image` fixture).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app
from cocusctl.core.errors import ExitCode
from tests.integration.cluster_load import Load

pytestmark = [pytest.mark.kubernetes, pytest.mark.docker, pytest.mark.registry, pytest.mark.helm, pytest.mark.slow]

API_KEY = "gke-e2e-" + os.urandom(8).hex()
REPO = Path(__file__).resolve().parents[2]


def test_service_image_on_the_local_cluster(kube_cluster, tmp_path: Path, monkeypatch, local_registry,
                                            service_image_ref: str) -> None:
    image = service_image_ref
    monkeypatch.setenv("COCUS_CLUSTER_HOME", kube_cluster.home)
    monkeypatch.setenv("COCUS_SECRETS_FILE", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("COCUS_SMOKE_API_KEY", API_KEY)
    monkeypatch.setenv("NO_COLOR", "1")
    config = tmp_path / "cocus.yaml"
    runner = CliRunner()
    namespace = f"e2e-{uuid.uuid4().hex[:6]}"
    registry = image.partition("@")[0].rpartition("/")[0]

    def write(env: dict[str, str]) -> None:
        doc = {"version": 1, "default_environment": "gke-e2e", "environments": {"gke-e2e": {
            "target": "gke", "project": "gke-e2e", "region": "local", "infrastructure": False,
            "registry": {"url": registry, "insecure": True},
            "gke": {"kubeconfig": "local", "namespace": namespace, "cpu_request": "100m"},
            "revision": {"cpu": "1", "memory": "1Gi", "min_instances": 2, "max_instances": 2, "env": env,
                         "secrets": {"COCUS_API_KEYS": {"secret": "cocus-rag-api-keys", "version": "1"}}},
            "release": {"ready_timeout_s": 240, "smoke_query": "How do I read a file line by line?"},
            "quality_gate": {"eval_files": [str(REPO / "service/eval/questions.jsonl")]},
        }}}
        config.write_text(json.dumps(doc, indent=1))

    write({})

    def cli(*args: str, stdin: str | None = None):
        return runner.invoke(app, ["--config", str(config), *args], input=stdin)

    assert cli("secrets", "set", "--env", "gke-e2e", "cocus-rag-api-keys", stdin=API_KEY).exit_code == 0
    res = cli("deploy", "--image", image, "-o", "json")
    assert res.exit_code == 0, res.output
    assert API_KEY not in res.output  # the key reaches the pods through a Secret, never the output
    data = json.loads(res.stdout)["data"]
    gate = data["quality_gate"]  # requested, not yet run by this target: said so in the result
    assert gate["verdict"] == "skipped" and gate["reason"] == "not available for the GKE target yet"
    request_ = urllib.request.Request(data["url"] + "/v1/query", method="POST",
                                      data=json.dumps({"question": "How do I open a file for writing?"}).encode(),
                                      headers={"Content-Type": "application/json", "X-API-Key": API_KEY})
    with urllib.request.urlopen(request_, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
        answer = json.loads(response.read())
    assert answer["sources"] and answer["answer"]

    # Each setting is valid alone, together the service refuses to start: the rollout must not go through.
    write({"COCUS_DEFAULT_TOP_K": "30", "COCUS_MAX_TOP_K": "20"})
    with Load(data["url"], path="/version", threads=3) as load:
        time.sleep(1)
        broken = cli("deploy", "--image", image, "-o", "json")
        time.sleep(1)
    assert broken.exit_code == ExitCode.DEPLOY_FAILED, broken.output
    message = json.loads(broken.stdout)["errors"][0]["message"]
    assert "COCUS_DEFAULT_TOP_K must not exceed COCUS_MAX_TOP_K" in message  # the pod's own last log line
    assert f"previous revision restored: {data['revision']}" in message
    assert load.failures == [] and set(load.served) == {data["revision"]}

"""The real RAG service image on the GKE target (the local cluster), through the CLI: the chart's hardening
(non-root, read-only root, no capabilities) with the real service, its API keys from the local secret store,
a real answer, and a broken setting rolled back under load with no failed request; the quality gate before
traffic moves: a candidate with dense retrieval switched off is blocked (exit 11) in both strategies while no
user request reaches it, a good one passes and rolls out, `--skip-quality-gate` is recorded, and `status` shows
each revision's index version and model.

Uses `COCUS_SERVICE_IMAGE=REGISTRY/REPO@sha256:…` when set, else the session's `cocusctl build` of the real
image (the `service_image` fixture).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cocusctl.cli import app
from cocusctl.core.errors import ExitCode
from tests.integration.cluster_load import Load

pytestmark = [pytest.mark.kubernetes, pytest.mark.docker, pytest.mark.registry, pytest.mark.helm, pytest.mark.slow]

API_KEY = "gke-e2e-" + os.urandom(8).hex()
REPO = Path(__file__).resolve().parents[2]
EVAL_FILES = [str(REPO / "service/eval/questions.jsonl"), str(REPO / "service/eval/paraphrased_heldout.jsonl")]


@dataclass
class GkeEnv:
    """Environment `gke-e2e` of a cocus.yaml written per deploy: the real image on the session's cluster, in a
    namespace of its own, driven through the CLI."""

    config: Path
    image: str
    namespace: str
    release: dict = field(default_factory=dict)
    quality_gate: dict = field(default_factory=dict)
    runner: CliRunner = field(default_factory=CliRunner)

    def write(self, **env: str) -> None:
        doc = {"version": 1, "default_environment": "gke-e2e", "environments": {"gke-e2e": {
            "target": "gke", "project": "gke-e2e", "region": "local", "infrastructure": False,
            "registry": {"url": self.image.partition("@")[0].rpartition("/")[0], "insecure": True},
            "gke": {"kubeconfig": "local", "namespace": self.namespace, "cpu_request": "100m"},
            "revision": {"cpu": "1", "memory": "1Gi", "min_instances": 2, "max_instances": 2, "env": env,
                         "secrets": {"COCUS_API_KEYS": {"secret": "cocus-rag-api-keys", "version": "1"}}},
            "release": {"ready_timeout_s": 240, "smoke_query": "How do I read a file line by line?", **self.release},
            "quality_gate": self.quality_gate,
        }}}
        self.config.write_text(json.dumps(doc, indent=1))

    def cli(self, *args: str, stdin: str | None = None) -> Result:
        return self.runner.invoke(app, ["--config", str(self.config), *args], input=stdin)

    def deploy(self, *flags: str, **env: str) -> tuple[int, dict]:
        self.write(**env)
        res = self.cli("deploy", "--image", self.image, "-o", "json", *flags)
        assert API_KEY not in res.output  # the key reaches the pods through a Secret, never the output
        return res.exit_code, json.loads(res.stdout)

    def status(self) -> dict:
        res = self.cli("status", "-o", "json")
        assert res.exit_code == 0, res.output
        return json.loads(res.stdout)["data"]


@pytest.fixture
def gke(kube_cluster, tmp_path: Path, monkeypatch, local_registry, service_image_ref: str) -> GkeEnv:
    monkeypatch.setenv("COCUS_CLUSTER_HOME", kube_cluster.home)
    monkeypatch.setenv("COCUS_SECRETS_FILE", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("COCUS_SMOKE_API_KEY", API_KEY)
    monkeypatch.setenv("NO_COLOR", "1")
    env = GkeEnv(tmp_path / "cocus.yaml", service_image_ref, f"e2e-{uuid.uuid4().hex[:6]}")
    env.write()
    assert env.cli("secrets", "set", "--env", "gke-e2e", "cocus-rag-api-keys", stdin=API_KEY).exit_code == 0
    return env


def version(url: str) -> dict:
    with urllib.request.urlopen(url + "/version", timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
        return json.loads(response.read())


def test_service_image_on_the_local_cluster(gke: GkeEnv) -> None:
    gke.quality_gate = {"eval_files": EVAL_FILES[:1]}
    code, doc = gke.deploy()
    assert code == 0, doc
    data = doc["data"]
    gate = data["quality_gate"]  # a first deploy: the thresholds of cocus.yaml decide
    assert gate["verdict"] == "pass" and gate["compared_with"] == "thresholds" and gate["baseline"] is None
    request_ = urllib.request.Request(data["url"] + "/v1/query", method="POST",
                                      data=json.dumps({"question": "How do I open a file for writing?"}).encode(),
                                      headers={"Content-Type": "application/json", "X-API-Key": API_KEY})
    with urllib.request.urlopen(request_, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
        answer = json.loads(response.read())
    assert answer["sources"] and answer["answer"]

    # Each setting is valid alone, together the service refuses to start: the rollout must not go through.
    with Load(data["url"], path="/version", threads=3) as load:
        time.sleep(1)
        code, broken = gke.deploy(COCUS_DEFAULT_TOP_K="30", COCUS_MAX_TOP_K="20")
        time.sleep(1)
    assert code == ExitCode.DEPLOY_FAILED, broken
    message = broken["errors"][0]["message"]
    assert "COCUS_DEFAULT_TOP_K must not exceed COCUS_MAX_TOP_K" in message  # the pod's own last log line
    assert f"previous revision restored: {data['revision']}" in message
    assert load.failures == [] and set(load.served) == {data["revision"]}


def test_quality_gate_before_traffic_moves(gke: GkeEnv) -> None:
    gke.release = {"canary_steps": [50, 100], "step_pause_s": 1}
    # Latency noise on a shared 2-core machine is not what this test is about: recall and MRR are.
    gke.quality_gate = {"eval_files": EVAL_FILES, "min_p95_delta_ms": 500, "max_p95_ms": 3000}
    no_limit = {"COCUS_RATE_LIMIT_PER_MINUTE": "0"}

    # A first deploy below the first-deploy thresholds (recall@5 0.9, MRR 0.75 by default): blocked, and the
    # release removed.
    code, doc = gke.deploy(**no_limit, COCUS_RETRIEVAL_MODE="bm25")
    assert code == ExitCode.DEPLOY_FAILED and doc["errors"][0]["code"] == "quality_gate_failed", doc
    gate = doc["data"]["quality_gate"]
    assert (gate["verdict"], gate["compared_with"], gate["baseline"]) == ("fail", "thresholds", None)
    assert gate["candidate"]["recall_at_k"] < 0.9 and doc["data"]["traffic_after"] == []
    assert gke.status()["exists"] is False

    code, doc = gke.deploy(**no_limit)
    assert code == 0, doc
    first = doc["data"]
    served = version(first["url"])
    assert first["quality_gate"]["candidate"]["index_version"] == served["index_version"]
    assert served["retrieval_mode"] == "hybrid"

    # A good candidate (another log level: a new revision, the same retrieval) passes, then the canary moves.
    with Load(first["url"], path="/version", threads=3) as load:
        code, doc = gke.deploy("--strategy", "canary", **no_limit, COCUS_LOG_LEVEL="WARNING")
    assert code == 0, doc
    good = doc["data"]
    gate = good["quality_gate"]
    assert (gate["verdict"], gate["compared_with"]) == ("pass", "serving revision")
    assert (gate["baseline"]["revision"], gate["candidate"]["revision"]) == (first["revision"], good["revision"])
    assert good["steps"][:4] == ["candidate", "smoke-candidate", "quality-gate", "smoke-canary"]
    assert good["candidate_url"] and good["candidate_url"] != good["url"]
    assert [(r["revision"], r["percent"]) for r in good["traffic_after"]] == [(good["revision"], 100)]
    assert load.failures == [] and set(load.served) == {first["revision"], good["revision"]}

    # Dense retrieval off: worse on the eval set -> blocked in both strategies; no user request reaches it.
    with Load(first["url"], path="/version", threads=3) as load:
        blocked = [gke.deploy("--strategy", strategy, **no_limit, COCUS_RETRIEVAL_MODE="bm25")
                   for strategy in ("all", "canary")]
        time.sleep(1)
    assert load.failures == [] and set(load.served) == {good["revision"]}
    for code, doc in blocked:
        assert code == ExitCode.DEPLOY_FAILED, doc
        assert doc["errors"][0]["code"] == "quality_gate_failed"
        assert f"previous revision restored: {good['revision']}" in doc["errors"][0]["message"]
        data = doc["data"]
        sides = data["quality_gate"]
        assert (sides["verdict"], sides["compared_with"]) == ("fail", "serving revision")
        assert sides["baseline"]["revision"] == good["revision"] and sides["candidate"]["revision"] == data["revision"]
        assert sides["candidate"]["recall_at_k"] < sides["baseline"]["recall_at_k"] - 0.02
        assert data["steps"] == ["candidate", "smoke-candidate"] and data["outcome"] == "failed"
        assert [(r["revision"], r["percent"]) for r in data["traffic_after"]] == [(good["revision"], 100)]
    assert version(first["url"])["retrieval_mode"] == "hybrid"

    # The override is recorded; status shows each revision's index and model.
    code, doc = gke.deploy("--skip-quality-gate", **no_limit, COCUS_RETRIEVAL_MODE="bm25")
    assert code == 0, doc
    assert (doc["data"]["quality_gate"]["verdict"], doc["data"]["quality_gate"]["reason"]) == (
        "skipped", "--skip-quality-gate")
    assert version(first["url"])["retrieval_mode"] == "bm25"
    rows = {r["name"]: r for r in gke.status()["revisions"]}
    serving = rows[doc["data"]["revision"]]
    assert (serving["percent"], serving["index_version"]) == (100, served["index_version"])
    assert serving["embedding_model"] == served["embedding_model"]
    assert rows[good["revision"]]["index_version"] is None  # no pod left to ask

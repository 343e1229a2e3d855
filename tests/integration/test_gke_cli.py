"""The GKE target through the CLI, on the real local cluster: `deploy`, `status`, `split-traffic`, `rollback`
and `promote` with `--output json`, exit codes, bad input, secrets from the local secret store.

The environments say `gke.kubeconfig: local`, the cluster of `$COCUS_CLUSTER_HOME` (the session's test
cluster), exactly as the repository's `local-gke` environment does for a developer's cluster.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app
from cocusctl.core.errors import ExitCode
from tests.integration.cluster_load import Load
from tests.support import cloudrun as support

pytestmark = [pytest.mark.kubernetes, pytest.mark.docker, pytest.mark.registry, pytest.mark.helm, pytest.mark.slow]

STATUS_KEYS = {"schema_version", "environment", "target", "service", "exists", "url", "ready", "conditions",
               "revisions", "traffic", "monitoring"}
REVISION_KEYS = {"name", "image", "digest", "created", "ready", "percent", "tags", "conditions", "requests",
                 "index_version", "embedding_model"}


@pytest.fixture(scope="module")
def apps(local_registry, base_image) -> dict[str, support.TestImage]:
    """The test app in environment A's registry (B's gets its copy from `promote`)."""
    return {name: support.build_test_image(version, mode, registry=local_registry, repo="gke-cli-a/app")
            for name, (version, mode) in {"v1": ("v1", "ok"), "v2": ("v2", "ok"), "crash": ("v3", "crash")}.items()}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kube_cluster, local_registry: str):
    suffix = uuid.uuid4().hex[:6]
    monkeypatch.setenv("COCUS_CLUSTER_HOME", kube_cluster.home)
    monkeypatch.setenv("COCUS_SECRETS_FILE", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("COCUS_SMOKE_API_KEY", "k-" + suffix)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")

    def environment(name: str) -> dict:
        return {
            "target": "gke", "project": name, "region": "local", "infrastructure": False,
            "registry": {"url": f"{local_registry}/{name}", "insecure": True},
            "gke": {"kubeconfig": "local", "namespace": f"{name}-{suffix}", "cpu_request": "20m"},
            "revision": {"cpu": "500m", "memory": "128Mi", "min_instances": 2, "max_instances": 2,
                         "secrets": {"COCUS_API_KEYS": {"secret": "api-keys", "version": "1"}}},
            "release": {"strategy": "all", "canary_steps": [50, 100], "step_pause_s": 1, "ready_timeout_s": 180,
                        "smoke_query": "How do I create a virtual environment?"},
            "quality_gate": {"enabled": False},  # the test app is not the RAG service
        }

    config = tmp_path / "cocus.yaml"
    doc = {"version": 1, "service": {"name": "rag", "image": "app", "settings_contract": "none"},
           "default_environment": "gke-cli-a",
           "environments": {"gke-cli-a": environment("gke-cli-a"), "gke-cli-b": environment("gke-cli-b")}}
    config.write_text(json.dumps(doc, indent=1))
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(app, ["--config", str(config), *args], input=stdin)

    for env in ("gke-cli-a", "gke-cli-b"):
        assert invoke("secrets", "set", "--env", env, "api-keys", stdin="k-" + suffix).exit_code == 0
    return invoke


def ok(result) -> dict:
    assert result.exit_code == 0, result.output
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "ok"
    return envelope["data"]


def failed(result, code: ExitCode) -> dict:
    assert result.exit_code == code, result.output
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "error" and envelope["exit_code"] == code
    return envelope


def test_deploy_status_and_the_same_deploy_twice(cli, apps) -> None:
    first = ok(cli("deploy", "--image", apps["v1"].ref, "-o", "json"))
    assert (first["target"], first["outcome"], first["created"]) == ("gke", "deployed", True)
    assert first["traffic_after"] == [{"revision": first["revision"], "percent": 100, "tag": "stable", "url": None}]
    again = ok(cli("deploy", "--image", apps["v1"].ref, "-o", "json"))
    assert (again["outcome"], again["changed"]) == ("unchanged", False)
    status = ok(cli("status", "-o", "json"))
    assert set(status) == STATUS_KEYS and status["schema_version"] == 1  # the same schema as Cloud Run
    assert status["ready"] is True and status["url"] == first["url"]
    (row,) = status["revisions"]
    assert set(row) == REVISION_KEYS and row["digest"] == apps["v1"].digest and row["percent"] == 100
    human = cli("status")
    assert human.exit_code == 0 and first["revision"] in human.stdout and "k-" not in human.output


def test_crash_under_load_exits_11_and_loses_nothing(cli, apps) -> None:
    first = ok(cli("deploy", "--image", apps["v1"].ref, "-o", "json"))
    with Load(first["url"], threads=3) as load:
        time.sleep(1)
        envelope = failed(cli("deploy", "--image", apps["crash"].ref, "-o", "json"), ExitCode.DEPLOY_FAILED)
        time.sleep(1)
    assert load.failures == [] and set(load.served) == {first["revision"]}
    message = envelope["errors"][0]["message"]
    assert "FATAL: cannot open the vector index" in message and "previous revision restored" in message
    assert envelope["data"]["outcome"] == "failed"
    status = ok(cli("status", "-o", "json"))
    assert [(t["revision"], t["percent"]) for t in status["traffic"]] == [(first["revision"], 100)]


def test_canary_split_rollback_and_bad_input(cli, apps) -> None:
    first = ok(cli("deploy", "--image", apps["v1"].ref, "-o", "json"))
    second = ok(cli("deploy", "--image", apps["v2"].ref, "--strategy", "canary", "-o", "json"))
    assert second["steps"] == ["smoke-canary", "50", "100", "smoke"] and second["strategy"] == "canary"
    a, b = first["revision"], second["revision"]
    split = ok(cli("split-traffic", f"{a}=50", f"{b}=50", "-o", "json"))
    assert sorted((t["revision"], t["percent"]) for t in split["traffic_after"]) == sorted([(a, 50), (b, 50)])
    before = ok(cli("status", "-o", "json"))["traffic"]
    for args, message in ((("split-traffic", f"{a}=30", f"{b}=30"), "must sum to 100"),
                          (("split-traffic", f"{a}=50", "rag-nope=50"), "unknown revision"),
                          (("deploy", "--image", apps["v2"].ref, "--target", "cloudrun"), "does not match")):
        envelope = failed(cli(*args, "-o", "json"), ExitCode.USAGE)
        assert message in envelope["errors"][0]["message"]
    assert ok(cli("status", "-o", "json"))["traffic"] == before  # nothing changed
    back = ok(cli("rollback", "-o", "json"))
    assert back["action"] == "rollback" and [(t["revision"], t["percent"]) for t in back["traffic_after"]] == [
        (a, 100)]


def test_promote_copies_by_digest_and_deploys_in_the_next_environment(cli, apps, local_registry) -> None:
    first = ok(cli("deploy", "--image", apps["v1"].ref, "-o", "json"))
    promoted = ok(cli("promote", "--from", "gke-cli-a", "--to", "gke-cli-b", "-o", "json"))
    assert promoted["digest"] == apps["v1"].digest
    assert promoted["target_image"] == f"{local_registry}/gke-cli-b/app@{apps['v1'].digest}"
    assert promoted["deploy"]["environment"] == "gke-cli-b" and promoted["deploy"]["outcome"] == "deployed"
    status_b = ok(cli("status", "--env", "gke-cli-b", "-o", "json"))
    assert status_b["revisions"][0]["image"] == promoted["target_image"]
    assert first["url"] != status_b["url"]  # another namespace, another Service

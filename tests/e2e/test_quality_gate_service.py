"""The quality gate with the real RAG service image on the emulator, and the index travelling with the image.

1. First deploy: the gate measures the candidate against the thresholds in cocus.yaml and passes.
2. The same image with dense retrieval switched off (COCUS_RETRIEVAL_MODE=bm25) is a new revision whose
   eval set scores worse than the serving one: blocked with exit 11, traffic unchanged, both sides in the JSON.
3. `--skip-quality-gate` lets that revision through and says so in the result.
4. An image with another index (rebuilt from a two-page corpus on top of the real one) deploys (gate skipped);
   `status` shows the revision's index version and model; `rollback` brings the previous index version back.

Uses `COCUS_SERVICE_IMAGE=REGISTRY/REPO@sha256:…` when set, else the session's `cocusctl build` of the image.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
API_KEY = "e2e-" + os.urandom(8).hex()
SMALL_INDEX_DOCKERFILE = """\
FROM {image}
USER root
RUN mkdir -p /tmp/corpus \\
 && printf '# Files\\n\\nRead a text file line by line with a for loop over the file object.\\n' > /tmp/corpus/files.md \\
 && printf '# Hashes\\n\\nhashlib computes the SHA-256 digest of bytes.\\n' > /tmp/corpus/hashes.md \\
 && python -m cocus_rag.buildcli build-index --corpus /tmp/corpus --model /app/data/model --out /app/data/index \\
 && rm -rf /tmp/corpus
USER 10001:10001
"""


@pytest.fixture
def image(request: pytest.FixtureRequest) -> str:
    if os.environ.get("COCUS_SERVICE_IMAGE"):
        return os.environ["COCUS_SERVICE_IMAGE"]
    return request.getfixturevalue("service_image")["pushed_ref"]


def _version(url: str) -> dict:
    with urllib.request.urlopen(url + "/version", timeout=30) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.loads(resp.read())


def _small_index_image(base: str, registry: str, workdir: Path) -> str:
    """The service image with its index rebuilt from two pages, pushed by digest."""
    (workdir / "Dockerfile").write_text(SMALL_INDEX_DOCKERFILE.format(image=base))
    tag = f"{registry}/e2e-quality-gate/small-index:{os.getpid()}"
    subprocess.run(["docker", "build", "--network", "host", "-q", "-t", tag, str(workdir)], check=True,
                   capture_output=True, timeout=900)
    subprocess.run(["docker", "push", "-q", tag], check=True, capture_output=True, timeout=300)
    digest = subprocess.run(["docker", "image", "inspect", "--format", "{{index .RepoDigests 0}}", tag],
                            check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["docker", "image", "rm", tag], capture_output=True)
    return digest


def test_gate_blocks_a_degraded_candidate_and_rollback_restores_the_index(
        tmp_path, monkeypatch, docker_engine, local_registry, image):
    from tests.support.cloudrun import emulator_process, write_config

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COCUS_SMOKE_API_KEY", API_KEY)
    monkeypatch.setenv("COCUS_SECRETS_FILE", str(tmp_path / "secrets" / "local-secrets.json"))
    runner = CliRunner()
    gate = {"eval_files": [str(REPO / "service/eval/questions.jsonl"),
                           str(REPO / "service/eval/paraphrased_heldout.jsonl")],
            "min_recall": 0.8, "min_mrr": 0.6, "max_p95_ms": 2000}
    settings = {"service": "cocus-rag", "registry": local_registry, "contract": "cocus-rag", "memory": "1Gi",
                "smoke_query": "How do I read a file line by line?", "ready_timeout_s": 180,
                "secrets": {"COCUS_API_KEYS": {"secret": "cocus-rag-api-keys", "version": "1"}}, "quality_gate": gate}
    env = {"COCUS_HOST": "127.0.0.1", "COCUS_RATE_LIMIT_PER_MINUTE": "0"}

    with emulator_process(tmp_path / "emu") as emu:
        config = tmp_path / "cocus.yaml"
        write_config(config, emu.endpoint, env=env, **settings)
        res = runner.invoke(app, ["--config", str(config), "secrets", "set", "cocus-rag-api-keys", "--env",
                                  "local-staging"], input=API_KEY + "\n")
        assert res.exit_code == 0, res.output

        def deploy(ref: str, *flags: str, **extra_env: str):  # noqa: ANN202
            write_config(config, emu.endpoint, env={**env, **extra_env}, **settings)
            res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image", ref,
                                      "-o", "json", *flags])
            return res, json.loads(res.stdout)

        def cli(*args: str) -> dict:
            res = runner.invoke(app, ["--config", str(config), *args, "--env", "local-staging", "-o", "json"])
            assert res.exit_code == 0, res.output
            return json.loads(res.stdout)["data"]

        # 1. first deploy: thresholds
        res, doc = deploy(image)
        assert res.exit_code == 0, res.output
        first = doc["data"]
        assert API_KEY not in res.output
        gate_1 = first["quality_gate"]
        assert gate_1["verdict"] == "pass" and gate_1["compared_with"] == "thresholds"
        served = _version(first["url"])
        assert gate_1["candidate"]["index_version"] == served["index_version"]
        assert served["retrieval_mode"] == "hybrid" and served["embedding_model"].startswith("all-MiniLM-L6-v2")

        # 2. dense retrieval off: worse on the eval set -> blocked, traffic unchanged
        res, doc = deploy(image, COCUS_RETRIEVAL_MODE="bm25")
        assert res.exit_code == 11, res.output
        assert doc["errors"][0]["code"] == "quality_gate_failed"
        blocked = doc["data"]
        sides = blocked["quality_gate"]
        assert sides["verdict"] == "fail" and sides["compared_with"] == "serving revision"
        assert sides["baseline"]["revision"] == first["revision"] and sides["candidate"]["revision"] != first["revision"]
        assert sides["candidate"]["recall_at_k"] < sides["baseline"]["recall_at_k"] - 0.02
        assert [(r["revision"], r["percent"]) for r in blocked["traffic_after"] if r["percent"]] == [
            (first["revision"], 100)]
        assert _version(first["url"])["retrieval_mode"] == "hybrid"

        # 3. the override is recorded
        res, doc = deploy(image, "--skip-quality-gate", COCUS_RETRIEVAL_MODE="bm25")
        assert res.exit_code == 0, res.output
        skipped = doc["data"]["quality_gate"]
        assert skipped["verdict"] == "skipped" and skipped["reason"] == "--skip-quality-gate"
        bm25_revision = doc["data"]["revision"]
        assert _version(first["url"])["retrieval_mode"] == "bm25"

        # 4. another index in another image; status per revision; rollback restores the first index
        small = _small_index_image(image, local_registry, tmp_path)
        res, doc = deploy(small, "--skip-quality-gate")
        assert res.exit_code == 0, res.output
        other = _version(first["url"])
        assert other["index_version"] != served["index_version"] and other["corpus_documents"] == 2
        status = cli("status")
        by_rev = {r["name"]: r for r in status["revisions"]}
        assert by_rev[doc["data"]["revision"]]["index_version"] == other["index_version"]
        assert by_rev[doc["data"]["revision"]]["embedding_model"] == served["embedding_model"]
        rolled = cli("rollback")
        assert [(r["revision"], r["percent"]) for r in rolled["traffic_after"] if r["percent"]] == [
            (bm25_revision, 100)]
        assert _version(first["url"])["index_version"] == served["index_version"]
        after = {r["name"]: r for r in cli("status")["revisions"]}
        assert after[bm25_revision]["index_version"] == served["index_version"]

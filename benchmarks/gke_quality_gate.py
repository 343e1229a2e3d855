"""The quality gate on the GKE target: the real service image on the local cluster, through the CLI.

1. First deploy (hybrid retrieval): the gate against the thresholds of cocus.yaml.
2. What the gate costs: new revisions of a good candidate (another log level each time, strategy all), deployed
   with the gate and with `--skip-quality-gate`, alternately, 3 runs each; the gate's two samples.
3. A degraded candidate (`COCUS_RETRIEVAL_MODE=bm25`) under constant load on the release's Service, with each
   strategy: exit code, time to block and roll back, requests served by the candidate (must be 0), failures.

Every request goes to 127.0.0.1, bounded. The image is `COCUS_SERVICE_IMAGE` (REGISTRY/REPO@sha256:…) or a
`cocusctl build --env local` into a temporary output folder. Writes benchmarks/results/gke_quality_gate.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULT = Path(__file__).parent / "results" / "gke_quality_gate.json"
API_KEY = "bench-" + os.urandom(6).hex()
EVAL_FILES = [str(REPO / "service" / "eval" / name) for name in ("questions.jsonl", "paraphrased_heldout.jsonl")]
RUNS = 3


def service_image(tmp: Path) -> str:
    if os.environ.get("COCUS_SERVICE_IMAGE"):
        return os.environ["COCUS_SERVICE_IMAGE"]
    proc = subprocess.run([sys.executable, "-m", "cocusctl", "build", "--env", "local", "-o", "json"], cwd=REPO,
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "COCUSCTL_OUTPUT_DIR": str(tmp / "build"), "NO_COLOR": "1"})
    return str(json.loads(proc.stdout)["data"]["pushed_ref"])


class Bench:
    def __init__(self, tmp: Path, image: str, out: dict[str, Any]) -> None:
        from typer.testing import CliRunner

        self.config = tmp / "cocus.yaml"
        self.image = image
        self.registry = image.partition("@")[0].rpartition("/")[0]
        self.namespace = f"gate-{uuid.uuid4().hex[:6]}"
        self.runner = CliRunner()
        self.out = out

    def write(self, **env: str) -> None:
        doc = {"version": 1, "default_environment": "bench", "environments": {"bench": {
            "target": "gke", "project": "bench", "region": "local", "infrastructure": False,
            "registry": {"url": self.registry, "insecure": True},
            "gke": {"kubeconfig": "local", "namespace": self.namespace, "cpu_request": "100m"},
            "revision": {"cpu": "1", "memory": "1Gi", "min_instances": 2, "max_instances": 2,
                         "env": {"COCUS_RATE_LIMIT_PER_MINUTE": "0", **env},
                         "secrets": {"COCUS_API_KEYS": {"secret": "api-keys", "version": "1"}}},
            "release": {"ready_timeout_s": 300, "canary_steps": [50, 100], "step_pause_s": 1,
                        "smoke_query": "How do I read a file line by line?"},
            "quality_gate": {"eval_files": EVAL_FILES},
        }}}
        self.config.write_text(json.dumps(doc, indent=1))

    def cli(self, *args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
        from cocusctl.cli import app

        res = self.runner.invoke(app, ["--config", str(self.config), *args, "-o", "json"], input=stdin)
        return res.exit_code, json.loads(res.stdout) if res.stdout.strip() else {}

    def deploy(self, *flags: str, **env: str) -> tuple[int, dict[str, Any], float]:
        self.write(**env)
        start = time.perf_counter()
        code, doc = self.cli("deploy", "--image", self.image, *flags)
        return code, doc, round(time.perf_counter() - start, 2)

    # ------------------------------------------------------------------ phases
    def first(self) -> None:
        self.write()
        assert self.cli("secrets", "set", "--env", "bench", "api-keys", stdin=API_KEY)[0] == 0
        code, doc, took = self.deploy()
        assert code == 0, doc
        self.out["first_deploy"] = {"deploy_s": took, "quality_gate": doc["data"]["quality_gate"]}

    def cost(self) -> None:
        with_gate: list[float] = []
        without: list[float] = []
        levels = iter(["WARNING", "ERROR", "INFO", "DEBUG", "WARNING", "ERROR", "INFO"])
        gate: dict[str, Any] = {}
        for _ in range(RUNS):
            code, doc, took = self.deploy(COCUS_LOG_LEVEL=next(levels))
            assert code == 0 and doc["data"]["quality_gate"]["verdict"] == "pass", doc
            with_gate.append(took)
            gate = doc["data"]["quality_gate"]
            code, doc, took = self.deploy("--skip-quality-gate", COCUS_LOG_LEVEL=next(levels))
            assert code == 0, doc
            without.append(took)
        self.out["good_candidate_strategy_all"] = {
            "runs": RUNS, "deploy_with_gate_s": with_gate, "deploy_skipping_gate_s": without,
            "median_with_gate_s": round(statistics.median(with_gate), 2),
            "median_skipping_gate_s": round(statistics.median(without), 2),
            "gate_cost_s": round(statistics.median(with_gate) - statistics.median(without), 2),
            "last_quality_gate": gate}

    def blocked(self) -> None:
        from tests.integration.cluster_load import Load

        code, doc = self.cli("status")
        url, serving = doc["data"]["url"], doc["data"]["traffic"][0]["revision"]
        for strategy in ("all", "canary"):
            with Load(url, path="/version", threads=3, max_seconds=600) as load:
                time.sleep(1)
                code, doc, took = self.deploy("--strategy", strategy, COCUS_RETRIEVAL_MODE="bm25")
                time.sleep(1)
            data = doc.get("data") or {}
            self.out[f"degraded_candidate_{strategy}_under_load"] = {
                "exit_code": code, "error_code": (doc.get("errors") or [{}])[0].get("code"), "block_and_rollback_s": took,
                "requests": sum(load.served.values()) + len(load.failures), "failed_requests": len(load.failures),
                "served_by": dict(load.served), "served_by_candidate": load.served.get(data.get("revision", "?"), 0),
                "serving_revision": serving, "steps": data.get("steps"),
                "traffic_after": data.get("traffic_after"), "quality_gate": data.get("quality_gate")}


def main() -> None:
    from benchmarks.cluster_common import local_cluster, run_phases

    out: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                           "load_average_at_start": round(os.getloadavg()[0], 1), "eval_files": EVAL_FILES}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        image = service_image(tmp)
        out["image"] = image
        with local_cluster(tmp / "cluster") as state:
            os.environ.update({"COCUS_CLUSTER_HOME": str(state.home), "COCUS_SECRETS_FILE": str(tmp / "secrets.json"),
                               "COCUS_SMOKE_API_KEY": API_KEY, "NO_COLOR": "1"})
            bench = Bench(tmp, image, out)
            run_phases((bench.first, bench.cost, bench.blocked), out, RESULT)


if __name__ == "__main__":
    main()

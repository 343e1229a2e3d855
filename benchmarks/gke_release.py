"""The GKE target on the local cluster (real 1.20 control plane, node agent, the cocus-mvp chart, real helm).

1. First deploy, start → every pod ready and the smoke test passed (3 replicas), 3 runs; and an upgrade to a
   new revision (rolling, 3 replicas), 3 runs.
2. Upgrade under constant load (4 threads): requests, failed requests.
3. A crashing image under load: automatic rollback, failed requests, exit code, time to restore.
4. Canary 10 → 50 → 100 with 9 stable pods (10 % = 1 canary pod of 10, 50 % = 9 of 18): the candidate's
   share over 2,000 sequential requests at each step, under load.
5. HPA 2 → 3 under CPU load (the chart's autoscaling/v2beta2 HPA on 1.20; metrics from the node agent).

All traffic goes to 127.0.0.1 and is bounded. Writes benchmarks/results/gke_release.json after each phase.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULT = Path(__file__).parent / "results" / "gke_release.json"
CHART = REPO / "helm" / "cocus-mvp"
REGISTRY = os.environ.get("COCUS_TEST_REGISTRY", "127.0.0.1:5000")
PROBES = {
    "startup": {"path": "/readyz", "periodSeconds": 1, "timeoutSeconds": 2, "failureThreshold": 120},
    "readiness": {"path": "/readyz", "periodSeconds": 1, "timeoutSeconds": 2, "failureThreshold": 1,
                  "successThreshold": 1},
    "liveness": {"path": "/healthz", "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 3},
}
REQUESTS_PER_STEP = 2000


class Bench:
    def __init__(self, kubeconfig: str, images: dict[str, Any], out: dict[str, Any]) -> None:
        from cocusctl.adapters.helm import Helm
        from cocusctl.adapters.kubernetes import KubernetesClient
        from cocusctl.adapters.kubernetes_workloads import KubernetesWorkloads
        from cocusctl.core.gke.release import GkeRelease
        from cocusctl.core.reporting import NullReporter

        self.kube = KubernetesClient.from_kubeconfig(kubeconfig)
        self.cluster = KubernetesWorkloads.from_kubeconfig(kubeconfig)
        self.release = GkeRelease(Helm.locate(kubeconfig=Path(kubeconfig)), self.cluster, NullReporter())
        self.images = images
        self.out = out
        self.namespaces: list[str] = []

    def plan(self, **base: Any):  # noqa: ANN201
        from cocusctl.core.gke.release import GkePlan
        from cocusctl.core.gke.workloads import Smoke

        values = {"fullnameOverride": "rag", "listenOnPodIP": True, "preStopSleepSeconds": 1,
                  "gracefulShutdownSeconds": 2, "autoscaling": {"enabled": False}, "replicaCount": 3,
                  "probes": PROBES, **base}
        return GkePlan(environment="bench", release="rag", namespace=self.namespace(), chart=CHART,
                       base_values=values, canary_steps=(10, 50, 100), step_pause_s=1.0, ready_timeout_s=300,
                       smoke=Smoke(query="How do I create a virtual environment?"))

    def api(self, key: str, request_cpu: str = "20m", limit_cpu: str = "500m") -> dict[str, Any]:
        """Small CPU requests: the node offers its 2 CPUs, and the canary phase runs 18 pods."""
        from cocusctl.core.gke import values as v

        image = self.images[key]
        return v.with_revision("rag", {
            "image": {"repository": image.ref.partition("@")[0], "digest": image.digest,
                      "pullPolicy": "IfNotPresent"},
            "env": {}, "resources": {"requests": {"cpu": request_cpu, "memory": "32Mi"},
                                     "limits": {"cpu": limit_cpu, "memory": "128Mi"}}})

    def namespace(self) -> str:
        """A fresh namespace; the previous phase's is deleted first and its pods waited out."""
        while self.namespaces:
            old = self.namespaces.pop()
            self.kube.request("DELETE", f"/api/v1/namespaces/{old}")
            deadline = time.monotonic() + 120
            while self.kube.request("GET", f"/api/v1/namespaces/{old}/pods")["items"] and time.monotonic() < deadline:
                time.sleep(1)
        name = f"bench-{uuid.uuid4().hex[:6]}"
        self.kube.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": name}})
        self.namespaces.append(name)
        return name

    # ------------------------------------------------------------------ phases
    def deploy_times(self) -> None:
        firsts, upgrades = [], []
        for _ in range(3):
            plan = self.plan()
            start = time.perf_counter()
            self.release.deploy(plan, self.api("okv1"))
            firsts.append(time.perf_counter() - start)
            start = time.perf_counter()
            self.release.deploy(plan, self.api("okv2"))
            upgrades.append(time.perf_counter() - start)
        self.out["first_deploy_3_replicas_s"] = {"runs": [round(x, 2) for x in firsts],
                                                 "median": round(statistics.median(firsts), 2)}
        self.out["upgrade_3_replicas_s"] = {"runs": [round(x, 2) for x in upgrades],
                                            "median": round(statistics.median(upgrades), 2)}

    def under_load(self) -> None:
        from cocusctl.core.errors import DeployError
        from tests.integration.cluster_load import Load

        plan = self.plan()
        self.release.deploy(plan, self.api("okv1"))
        url = self.cluster.service_url(plan.namespace, "rag")
        with Load(url, threads=4, max_seconds=300) as load:
            time.sleep(1)
            start = time.perf_counter()
            self.release.deploy(plan, self.api("okv2"))
            took = time.perf_counter() - start
            time.sleep(1)
        self.out["upgrade_under_load"] = {"requests": sum(load.served.values()) + len(load.failures),
                                          "failed_requests": len(load.failures), "served_by": dict(load.served),
                                          "deploy_s": round(took, 2)}
        with Load(url, threads=4, max_seconds=300) as load:
            time.sleep(1)
            start = time.perf_counter()
            try:
                self.release.deploy(plan, self.api("crashv4"))
                exit_code, message = 0, "deployed (unexpected)"
            except DeployError as exc:
                exit_code, message = int(exc.exit_code), exc.message.splitlines()[0][:160]
            took = time.perf_counter() - start
            time.sleep(1)
        self.out["crashing_image_under_load"] = {
            "requests": sum(load.served.values()) + len(load.failures), "failed_requests": len(load.failures),
            "served_by": dict(load.served), "exit_code": exit_code, "outcome": message,
            "fail_and_rollback_s": round(took, 2),
            "serving_after": {r.revision: r.percent for r in self.release.status(plan).traffic}}

    def canary(self) -> None:
        from tests.integration.cluster_load import Load, sample

        plan = self.plan(replicaCount=9)
        self.release.deploy(plan, self.api("okv1"))
        url = self.cluster.service_url(plan.namespace, "rag")
        steps: list[dict[str, Any]] = []
        hold = self.release._hold

        def measured_hold(plan_, w, rev: str) -> None:  # noqa: ANN001 - measure while each step holds
            seen = sample(url, REQUESTS_PER_STEP)
            steps.append({"asked_percent": plan_.canary_steps[len(steps)], "ready_pods": w.serving(),
                          "measured_percent": round(100 * seen[rev] / REQUESTS_PER_STEP, 2)})
            hold(plan_, w, rev)

        self.release._hold = measured_hold  # type: ignore[method-assign]
        try:
            with Load(url, threads=2, max_seconds=900) as load:
                start = time.perf_counter()
                result = self.release.deploy(plan, self.api("okv3"), strategy="canary")
                took = time.perf_counter() - start
        finally:
            self.release._hold = hold  # type: ignore[method-assign]
        final = sample(url, REQUESTS_PER_STEP)
        steps.append({"asked_percent": 100,
                      "measured_percent": round(100 * final[result.revision] / REQUESTS_PER_STEP, 2)})
        for step in steps:
            step["error_points"] = round(abs(step["measured_percent"] - step["asked_percent"]), 2)
        self.out["canary_10_50_100"] = {
            "stable_replicas": 9, "requests_per_step": REQUESTS_PER_STEP, "steps": steps,
            "max_error_points": max(s["error_points"] for s in steps), "target_points": 5,
            "granularity": "whole ready pods: ceil(p·R/(100−p)) canary pods beside R stable ones",
            "requests_under_load": sum(load.served.values()) + len(load.failures),
            "failed_requests": len(load.failures), "deploy_s": round(took, 2)}

    def hpa(self) -> None:
        from tests.integration.cluster_load import Load

        plan = self.plan(autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 3,
                                      "targetCPUUtilizationPercentage": 50, "scaleDownStabilizationSeconds": 300})
        self.release.deploy(plan, self.api("okv1", request_cpu="100m", limit_cpu="200m"))
        url = self.cluster.service_url(plan.namespace, "rag")
        w = self.release.workloads(plan)
        start = time.perf_counter()
        scaled = None
        with Load(url, path="/burn?ms=40", threads=4, max_seconds=300) as load:
            while time.perf_counter() - start < 300:
                rollout = w.rollout("stable")
                if rollout and rollout.desired >= 3 and rollout.available >= 3:
                    scaled = time.perf_counter() - start
                    break
                time.sleep(1)
        hpa = self.kube.request(
            "GET", f"/apis/autoscaling/v2beta2/namespaces/{plan.namespace}/horizontalpodautoscalers/rag")
        self.out["hpa_2_to_3"] = {"scaled": scaled is not None,
                                  "load_start_to_3_ready_s": round(scaled, 1) if scaled is not None else None,
                                  "hpa_api": hpa["apiVersion"], "hpa_status": hpa.get("status", {}),
                                  "failed_requests": len(load.failures)}


def main() -> None:
    from benchmarks.cluster_common import local_cluster, run_phases
    from cocusctl.adapters.kubernetes import KubernetesClient
    from tests.support.cloudrun import build_test_image

    images = {mode + version: build_test_image(version, mode, registry=REGISTRY, repo="cocus-test/gke-app")
              for version, mode in (("v1", "ok"), ("v2", "ok"), ("v3", "ok"), ("v4", "crash"))}
    out: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                           "load_average_at_start": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory() as tmp, local_cluster(Path(tmp) / "cluster") as state:
        out["kubernetes"] = KubernetesClient.from_kubeconfig(state.kubeconfig).request("GET", "/version")["gitVersion"]
        bench = Bench(str(state.kubeconfig), images, out)
        run_phases((bench.deploy_times, bench.under_load, bench.canary, bench.hpa), out, RESULT)


if __name__ == "__main__":
    main()

"""The local Kubernetes cluster: first build, start times and memory.

- build: the compile time the build module measured when it produced the cached binaries (its manifest),
  and their sizes; `--build` rebuilds into a temporary cache to measure it again (about 10 minutes).
- start: `control_plane.start` on a fresh home (certificates, etcd, API server ready, node Ready) and a
  warm restart (stop, start again with the state kept), `BENCH_RUNS` times each; the median is reported.
- memory: resident set size of every component with the node idle, then with 3 pods of the test service.

Writes benchmarks/results/cluster.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cocusctl.core.cluster import build, control_plane

RESULT = Path(__file__).parent / "results" / "cluster.json"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def memory(state: control_plane.ClusterState) -> dict[str, float]:
    out = {c.name: rss_mb(c.pid) for c in state.components}
    out["total"] = round(sum(out.values()), 1)
    return out


def measure_build() -> dict:
    if "--build" in sys.argv:
        with tempfile.TemporaryDirectory() as cache:
            started = time.monotonic()
            binaries = build.build(Path(cache), force=True)
            wall = round(time.monotonic() - started, 1)
            sizes = {name: round(binaries.path(name).stat().st_size / 2**20, 1) for name in build.BINARIES}
            return {"debian_version": binaries.debian_version, "wall_s": wall, "compile_s": binaries.build_seconds,
                    "binaries_mb": sizes, "measured": "now"}
    binaries = build.cached()
    if binaries is None:
        raise SystemExit("no cached build: run `cocusctl cluster start` or pass --build")
    manifest = json.loads((binaries.bin_dir.parent / build.MANIFEST).read_text())
    return {"debian_version": binaries.debian_version, "compile_s": binaries.build_seconds,
            "binaries_mb": {k: round(v / 2**20, 1) for k, v in manifest["binaries"].items()},
            "measured": "by the build that made the cache"}


def with_pods(state: control_plane.ClusterState) -> dict[str, float]:
    """Memory with 3 pods of a small image running (the base image's Python http.server)."""
    from cocusctl.adapters.kubernetes import KubernetesClient

    client = KubernetesClient.from_kubeconfig(state.kubeconfig or "")
    image = os.environ.get("COCUS_BASE_IMAGE", "cocus/python-base:3.11-bookworm")
    spec = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "bench"}},
                     "template": {"metadata": {"labels": {"app": "bench"}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": image, "imagePullPolicy": "Never",
                                      "command": ["python3", "-m", "http.server", "8080", "--bind", "$(HOST)"],
                                      "env": [{"name": "HOST",
                                               "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                                      "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}}}
    client.request("POST", "/apis/apps/v1/namespaces/default/deployments", spec)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        d = client.request("GET", "/apis/apps/v1/namespaces/default/deployments/bench")
        if (d.get("status") or {}).get("availableReplicas") == 3:
            break
        time.sleep(0.5)
    else:
        raise SystemExit("the 3 bench pods did not become available")
    time.sleep(10)
    client.close()
    return memory(control_plane.status(Path(state.home)))


def main() -> None:
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "load_average_1m_at_start": round(os.getloadavg()[0], 2)},
                    "build": measure_build()}
    cold, warm = [], []
    idle: dict[str, float] = {}
    loaded: dict[str, float] = {}
    for run in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "cluster"
            started = time.monotonic()
            state = control_plane.start(home, pod_cidr=f"127.{200 + run}.0.0/16")
            cold.append(time.monotonic() - started)
            try:
                if run == 0:
                    time.sleep(10)
                    idle = memory(control_plane.status(home))
                    loaded = with_pods(state)
                control_plane.stop(home)
                started = time.monotonic()
                control_plane.start(home)
                warm.append(time.monotonic() - started)
            finally:
                control_plane.delete(home)
    result["start_fresh_home_s"] = {"median": round(statistics.median(cold), 2), "max": round(max(cold), 2),
                                    "runs": len(cold)}
    result["start_warm_s"] = {"median": round(statistics.median(warm), 2), "max": round(max(warm), 2),
                              "runs": len(warm)}
    result["rss_mb_idle"] = idle
    result["rss_mb_3_pods"] = loaded
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

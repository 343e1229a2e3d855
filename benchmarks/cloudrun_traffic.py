"""Traffic on the local Cloud Run emulator: split accuracy, router overhead, and deploys under load.

1. 90/10 split: share of the 10 % revision over 2,000 sequential requests, 3 trials.
2. Router overhead: 1,000 sequential GETs straight to the revision container vs through the service URL.
3. A crashing deploy and a canary deploy (10 -> 50 -> 100), each under constant load (4 threads):
   requests sent, failed requests, deploy duration.

All load goes to 127.0.0.1 and is bounded. Writes benchmarks/results/cloudrun_traffic.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test app and load generator live in tests/support
RESULT = Path(__file__).parent / "results" / "cloudrun_traffic.json"


def latencies(client, url: str, n: int) -> dict[str, float]:  # noqa: ANN001
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(url).raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"p50_ms": round(samples[n // 2], 2), "p99_ms": round(samples[int(n * 0.99) - 1], 2),
            "mean_ms": round(statistics.mean(samples), 2)}


def main() -> None:
    import httpx

    from cocusctl.adapters.cloudrun import CloudRun
    from cocusctl.core.cloudrun.deploy import Deployer, DeployPlan
    from cocusctl.core.cloudrun.operations import split_traffic
    from cocusctl.core.config import ReleaseSettings, RevisionSettings
    from cocusctl.core.errors import DeployError
    from cocusctl.core.images import ImageRef
    from cocusctl.core.reporting import NullReporter
    from tests.support.cloudrun import LoadGenerator, build_test_image, emulator_process

    imgs = {k: build_test_image(*v) for k, v in
            {"v1": ("v1",), "v2": ("v2",), "v3": ("v3",), "crash": ("v1", "crash")}.items()}
    revision, release = RevisionSettings(memory="256Mi"), ReleaseSettings(smoke_query="hi", step_pause_s=2)
    out: dict[str, object] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp, emulator_process(Path(tmp) / "emu") as emu:
        api = CloudRun("bench", "local", emu.endpoint)

        def deploy(key: str, strategy: str = "all"):  # noqa: ANN202
            plan = DeployPlan.from_settings("bench", "traffic", ImageRef.pinned(imgs[key].ref), revision, release,
                                            strategy=strategy)
            return Deployer(api, NullReporter()).deploy(plan)

        a = deploy("v1").revision
        b = deploy("v2").revision
        split_traffic(api, NullReporter(), "bench", "traffic", [f"{a}=90", f"{b}=10"])
        url = api.get_service("traffic").uri
        shares = []
        with httpx.Client(timeout=10) as client:
            for _ in range(3):
                seen: Counter[str] = Counter(client.get(url).json()["revision"] for _ in range(2000))
                shares.append(round(100 * seen[b] / 2000, 2))
            out["split_90_10"] = {"requests_per_trial": 2000, "share_of_10pct_revision": shares,
                                  "max_error_points": round(max(abs(s - 10) for s in shares), 2),
                                  "target_points": 3}
            split_traffic(api, NullReporter(), "bench", "traffic", [f"{a}=100"])
            direct = client.get(url).json()["env"]["PORT"]
            out["router_overhead"] = {
                "requests": 1000,
                "direct_to_container": latencies(client, f"http://127.0.0.1:{direct}/", 1000),
                "through_router": latencies(client, url, 1000),
            }

        for name, key, strategy in (("crashing_deploy_under_load", "crash", "all"),
                                    ("canary_deploy_under_load", "v3", "canary")):
            with LoadGenerator(url, threads=4, max_requests=20000, max_seconds=120) as load:
                time.sleep(1)
                start = time.perf_counter()
                try:
                    deploy(key, strategy)
                    outcome = "deployed"
                except DeployError as exc:
                    outcome = "failed, traffic restored: " + exc.message.splitlines()[0][:100]
                took = time.perf_counter() - start
                time.sleep(1)
            out[name] = {"requests": load.total, "failed_requests": len(load.failures),
                         "served_by": dict(load.revisions), "deploy_s": round(took, 2), "outcome": outcome,
                         "serving_after": api.get_service("traffic").serving()}
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

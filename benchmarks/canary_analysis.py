"""Metric-gated canary on the local Cloud Run emulator (router counters), under constant load (4 threads):

1. A candidate that passes the smoke test but fails 20 % of its queries, 3 trials: the step it is stopped
   at, requests sent during the deploy, failed requests, their share, the deploy's time to abort.
2. A good candidate: the analysis verdicts and the whole canary's duration (10 -> 50 -> 100, 5 s pauses).

All load goes to 127.0.0.1 and is bounded. Writes benchmarks/results/canary_analysis.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test app and load generator live in tests/support
RESULT = Path(__file__).parent / "results" / "canary_analysis.json"
QUERY = {"question": "What is the answer?"}


def main() -> None:
    from cocusctl.adapters.cloudrun import CloudRun
    from cocusctl.core.canary import CanaryAnalysisFailed, CanaryAnalysisSettings, CanaryAnalyzer
    from cocusctl.core.cloudrun.canary import RouterCanaryMetrics
    from cocusctl.core.cloudrun.deploy import Deployer, DeployPlan
    from cocusctl.core.config import ReleaseSettings, RevisionSettings
    from cocusctl.core.images import ImageRef
    from cocusctl.core.reporting import NullReporter
    from tests.support.cloudrun import LoadGenerator, build_test_image, emulator_process

    imgs = {k: build_test_image(*v) for k, v in {"v1": ("v1",), "v2": ("v2",), "flaky": ("v1", "flaky")}.items()}
    revision = RevisionSettings(memory="256Mi")
    release = ReleaseSettings(smoke_query="hi", step_pause_s=5, canary_steps=[10, 50, 100])
    out: dict[str, object] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                              "load_average_1m": os.getloadavg()[0], "step_pause_s": 5, "load_threads": 4}
    with tempfile.TemporaryDirectory() as tmp, emulator_process(Path(tmp) / "emu") as emu:
        api = CloudRun("bench", "local", emu.endpoint)

        def deploy(service: str, key: str, strategy: str = "all"):  # noqa: ANN202
            plan = DeployPlan.from_settings("bench", service, ImageRef.pinned(imgs[key].ref), revision, release,
                                            strategy=strategy)
            analyzer = CanaryAnalyzer(RouterCanaryMetrics(api, service), CanaryAnalysisSettings())
            return Deployer(api, NullReporter(), analyzer=analyzer).deploy(plan)

        trials = []
        for i in range(3):
            service = f"canary-{i}"
            url = deploy(service, "v1").url
            with LoadGenerator(url, path="/v1/query", json_body=QUERY, threads=4, max_requests=40000,
                               max_seconds=120) as load:
                time.sleep(0.5)
                started = time.monotonic()
                try:
                    deploy(service, "flaky", "canary")
                    raise SystemExit("the failing candidate went through: the analysis did not stop it")
                except CanaryAnalysisFailed as exc:
                    last = exc.result.analysis[-1]  # type: ignore[attr-defined]
                abort_s = time.monotonic() - started
                time.sleep(0.5)
            trials.append({"stopped_at_percent": last.step_percent, "requests": load.total,
                           "failed_requests": len(load.failures),
                           "failed_share_pct": round(100 * len(load.failures) / max(load.total, 1), 2),
                           "candidate_error_ratio_seen": round(last.candidate.error_ratio, 3),
                           "candidate_requests_seen": last.candidate.requests, "time_to_abort_s": round(abort_s, 2)})
        out["failing_candidate"] = {"trials": trials, "bound_pct": 10 * 0.2,
                                    "max_failed_share_pct": max(t["failed_share_pct"] for t in trials)}
        url = deploy("canary-good", "v1").url
        with LoadGenerator(url, path="/v1/query", json_body=QUERY, threads=4, max_requests=40000,
                           max_seconds=120) as load:
            started = time.monotonic()
            good = deploy("canary-good", "v2", "canary")
            duration = time.monotonic() - started
        out["good_candidate"] = {"verdicts": [a.verdict for a in good.analysis], "duration_s": round(duration, 2),
                                 "failed_requests": len(load.failures), "requests": load.total}
    RESULT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Deploy time on the local Cloud Run emulator: command start -> 100 % on the new revision (strategy all).

Image build is excluded (one small test image, built and pushed before timing). Each run deploys a new
revision (a config change makes the revision name differ), so every run starts and probes a container.

Measured two ways, and cocusctl's own overhead reported separately:
- `cli`: wall time of `python -m cocusctl deploy ... -o json` as a subprocess (interpreter start, imports,
  config, API calls, waits, smoke test, traffic move, verification);
- `core`: the same deploy in-process, with every call into the Cloud Run adapter timed; what is left
  (`core_overhead_s` = total - time inside the adapter) is cocusctl's own work. `cli_startup_s` = cli - core.

Writes benchmarks/results/cloudrun_deploy.json. With `COCUS_SERVICE_IMAGE=REGISTRY/REPO@sha256:…` (the real
RAG service, e.g. what `cocusctl build` pushed) it times that image instead and writes
benchmarks/results/cloudrun_deploy_service.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test app lives in tests/support
SERVICE_IMAGE = os.environ.get("COCUS_SERVICE_IMAGE")
RESULT = Path(__file__).parent / "results" / ("cloudrun_deploy_service.json" if SERVICE_IMAGE
                                              else "cloudrun_deploy.json")
SMOKE_KEY = "bench-" + os.urandom(6).hex()
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


class TimedApi:
    """Wraps the adapter; accumulates the seconds spent inside each of its calls."""

    def __init__(self, api: Any) -> None:
        self._api = api
        self.seconds: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

        return timed


def summary(samples: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(samples), 3), "max_s": round(max(samples), 3),
            "min_s": round(min(samples), 3)}


def main() -> None:
    from cocusctl.adapters.cloudrun import CloudRun
    from cocusctl.core.cloudrun.deploy import Deployer, DeployPlan
    from cocusctl.core.config import load_config
    from cocusctl.core.images import ImageRef
    from cocusctl.core.local_secrets import LocalSecretStore
    from cocusctl.core.reporting import NullReporter
    from tests.support.cloudrun import build_test_image, emulator_process, write_config

    image_ref = SERVICE_IMAGE or build_test_image("bench").ref
    extra: dict[str, Any] = {}
    store = tempfile.TemporaryDirectory()  # the local secret store the emulator resolves the API key from
    if SERVICE_IMAGE:  # the real service needs an API key; the smoke query sends it
        os.environ["COCUS_SMOKE_API_KEY"] = SMOKE_KEY
        os.environ["COCUS_SECRETS_FILE"] = str(Path(store.name) / "secrets.json")
        LocalSecretStore(Path(store.name) / "secrets.json").add_version("local-bench", "api-keys", SMOKE_KEY.encode())
        extra = {"memory": "1Gi", "smoke_query": "How do I read a file line by line?",
                 "secrets": {"COCUS_API_KEYS": {"secret": "api-keys", "version": "1"}}}

    def env_vars(run: str) -> dict[str, str]:
        base = {"COCUS_HOST": "127.0.0.1"} if SERVICE_IMAGE else {}
        return {**base, "RUN": run} if run else base
    with tempfile.TemporaryDirectory() as tmp, emulator_process(Path(tmp) / "emu") as emu:
        config = Path(tmp) / "cocus.yaml"
        write_config(config, emu.endpoint, service="bench", environments=("local-bench",), env=env_vars(""),
                     **extra)
        env = {**os.environ, "NO_COLOR": "1"}
        first = subprocess.run([sys.executable, "-m", "cocusctl", "--config", str(config), "deploy", "--env",
                                "local-bench", "--image", image_ref, "-o", "json"],
                               capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        first_deploy = json.loads(first.stdout)["data"]["duration_s"]

        cli_samples: list[float] = []
        for i in range(RUNS):
            write_config(config, emu.endpoint, service="bench", environments=("local-bench",),
                         env=env_vars(f"cli{i}"), **extra)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "cocusctl", "--config", str(config), "deploy", "--env",
                                   "local-bench", "--image", image_ref, "--strategy", "all", "-o", "json"],
                                  capture_output=True, text=True, env=env, cwd=ROOT)
            cli_samples.append(time.perf_counter() - start)
            data = json.loads(done.stdout)["data"]
            assert done.returncode == 0 and data["created"] and data["traffic_after"][0]["percent"] == 100, done

        core_total: list[float] = []
        core_api: list[float] = []
        breakdown: dict[str, list[float]] = {}
        loaded = load_config(config)
        environment = loaded.environment("local-bench")
        for i in range(RUNS):
            revision = environment.settings.revision.model_copy(update={"env": env_vars(f"core{i}")})
            plan = DeployPlan.from_settings("local-bench", "bench", ImageRef.pinned(image_ref), revision,
                                            environment.settings.release, strategy="all")
            api = TimedApi(CloudRun(environment.settings.project, environment.settings.region, emu.endpoint))
            start = time.perf_counter()
            result = Deployer(api, NullReporter()).deploy(plan)  # type: ignore[arg-type]
            core_total.append(time.perf_counter() - start)
            core_api.append(sum(api.seconds.values()))
            for name, secs in api.seconds.items():
                breakdown.setdefault(name, []).append(secs)
            assert result.created and result.traffic_after[0].percent == 100

    overhead = [t - a for t, a in zip(core_total, core_api, strict=True)]
    results = {
        "what": "deploy --strategy all of a new revision on the local emulator, command start -> 100 % verified",
        "runs": RUNS,
        "image": (f"the RAG service image {image_ref}" if SERVICE_IMAGE else
                  "cocus-test/emu-app (stdlib http server on the local base image)") + "; build excluded",
        "first_deploy_create_service_s": first_deploy,
        "cli_wall": summary(cli_samples),
        "core_total": summary(core_total),
        "core_inside_cloudrun_adapter": summary(core_api),
        "core_overhead_s": summary(overhead),
        "cli_startup_and_config_s": round(statistics.median(cli_samples) - statistics.median(core_total), 3),
        "adapter_breakdown_median_s": {k: round(statistics.median(v), 3) for k, v in sorted(breakdown.items())},
        "target_s": 10.0,
        "meets_target": max(cli_samples) <= 10.0,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    store.cleanup()
    RESULT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

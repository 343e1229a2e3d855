"""Cold and warm build time of the service image, its size, and the scan and push times.

Runs `cocusctl build --env local` as a user would (JSON output) in a fresh local clone of HEAD, so the
build context cannot change between runs (the working tree may hold uncommitted edits) and the tree is clean:
  cold  --no-cache --no-push   every layer rebuilt (the base image is local, so it is not pulled)
  warm  --no-push              same commit again: every layer from the build cache
  push  (warm)                 the full job: build (cached), scan, push by digest
Writes benchmarks/results/build_times.json. Takes several minutes (the cold build installs the
service's dependencies and embeds every chunk of its corpus).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = Path(__file__).parent / "results" / "build_times.json"


def run_build(checkout: Path, *flags: str) -> dict[str, object]:
    argv = [sys.executable, "-m", "cocusctl", "build", "--env", "local", "--output", "json", *flags]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=checkout, capture_output=True, text=True)
    wall = time.perf_counter() - start
    envelope = json.loads(proc.stdout)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {envelope['errors']}")
    data = envelope["data"]
    return {
        "flags": list(flags),
        "wall_s": round(wall, 2),
        "phases_s": data["timings_s"],
        "image_id": data["image_id"],
        "size_mb": data["size_mb"],
        "size_budget_mb": data["size_budget_mb"],
        "pushed_ref": data["pushed_ref"],
        "vulnerabilities_checked": data["scan"]["vulnerabilities_checked"],
    }


def main() -> None:
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                            text=True).stdout.strip()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cocus-bench-") as tmp:
        checkout = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        cold = run_build(checkout, "--no-cache", "--no-push")
        warm = run_build(checkout, "--no-push")
        full = run_build(checkout)
    result = {
        "commit": commit,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "docker": docker,
            # The machine is shared (other sessions build and test too): the load tells how busy it was.
            "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        },
        "image_size_mb": cold["size_mb"],
        "size_budget_mb": cold["size_budget_mb"],
        "cold_build": cold,
        "warm_build": warm,
        "warm_build_scan_push": full,
        "notes": "decimal MB as `docker images` shows; cold = --no-cache with the local base image present; "
                 "the vulnerability DB is unavailable here, so scans cover secrets + misconfig + SBOM only",
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"cold_s": cold["wall_s"], "warm_s": warm["wall_s"], "full_s": full["wall_s"],
                      "size_mb": cold["size_mb"]}))


if __name__ == "__main__":
    main()

"""Size of the service image (uncompressed, as `docker image inspect` reports it, and gzip-compressed
as a registry stores it), with the largest layers. Writes benchmarks/results/service_image.json.

    python benchmarks/service_image.py [--image cocus-rag:dev]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess

from service_common import DEFAULT_IMAGE, docker, write_result

TARGET_MB = 400  # the budget (issue 14); the static-embedding image aimed at 250
BUDGET_MB = 400


def compressed_bytes(image: str) -> int:
    proc = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    total = 0
    comp = gzip.compress  # per-chunk compression approximates the registry's gzip'd layers
    assert proc.stdout is not None
    while chunk := proc.stdout.read(8 << 20):
        total += len(comp(chunk, compresslevel=6))
    proc.wait()
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--image", default=DEFAULT_IMAGE)
    args = p.parse_args()
    info = json.loads(docker("image", "inspect", args.image))[0]
    base = info["Config"].get("Labels") or {}
    history = json.loads("[" + ",".join(docker("history", "--no-trunc", "--format", "{{json .}}", args.image)
                                        .splitlines()) + "]")
    layers = [{"size": h["Size"], "created_by": h["CreatedBy"][:160]} for h in history if h["Size"] not in ("0B",)]
    size_mb = info["Size"] / 1e6
    write_result("service_image", {
        "image": args.image,
        "id": info["Id"],
        "revision": base.get("org.opencontainers.image.revision"),
        "size_bytes": info["Size"],
        "size_mb": round(size_mb, 1),
        "compressed_mb": round(compressed_bytes(args.image) / 1e6, 1),
        "target_mb": TARGET_MB,
        "budget_mb": BUDGET_MB,
        "meets_target": size_mb <= TARGET_MB,
        "within_budget": size_mb <= BUDGET_MB,
        "user": info["Config"].get("User"),
        "layers": layers,
    })


if __name__ == "__main__":
    main()

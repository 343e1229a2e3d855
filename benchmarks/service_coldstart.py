"""Cold start of the service image: `docker run` (host network, 127.0.0.1) until GET /readyz is 200.

Median of repeated runs. Writes benchmarks/results/service_coldstart.json.

    python benchmarks/service_coldstart.py [--image cocus-rag:dev] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from service_common import (
    DEFAULT_IMAGE,
    docker,
    free_port,
    machine,
    start_container,
    stop_container,
    wait_ready,
    write_result,
)

TARGET_S = 2.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--image", default=DEFAULT_IMAGE)
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra container env")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--name", default="service_coldstart", help="result file name (benchmarks/results/NAME.json)")
    args = p.parse_args()
    meta = machine()
    samples, load_seconds = [], []
    for _ in range(args.runs):
        port = free_port()
        t0 = time.perf_counter()
        cid = start_container(args.image, port, dict(e.split("=", 1) for e in args.env))
        try:
            wait_ready(port)
            samples.append(time.perf_counter() - t0)
            logs = docker("logs", cid)
            for line in logs.splitlines():
                if "loaded:" in line and line.startswith("{"):
                    msg = json.loads(line)["message"]
                    load_seconds.append(float(msg.rsplit(" in ", 1)[1].rstrip("s")))
        finally:
            stop_container(cid)
    med = statistics.median(samples)
    write_result(args.name, {
        "image": args.image,
        "extra_env": args.env,
        "what": "docker run -d --network host → first GET /readyz == 200 (index + model loaded)",
        "runs": args.runs,
        "median_s": round(med, 3),
        "min_s": round(min(samples), 3),
        "max_s": round(max(samples), 3),
        "samples_s": [round(s, 3) for s in samples],
        "index_load_median_s": round(statistics.median(load_seconds), 3) if load_seconds else None,
        "target_s": TARGET_S,
        "meets_target": med <= TARGET_S,
        "machine": meta,
    })


if __name__ == "__main__":
    main()

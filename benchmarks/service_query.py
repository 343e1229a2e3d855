"""/v1/query latency and throughput against the service image (extractive generator, cache off,
rate limit off, the full Python 3.11 docs index: ≥ 10,000 chunks).

* one client, sequential requests → p50 (target ≤ 15 ms)
* 16 concurrent keep-alive clients → throughput (target ≥ 150 req/s) and p99 (target ≤ 200 ms)

Each scenario is repeated; the reported numbers are the medians over repeats.
Writes benchmarks/results/service_query.json.

    python benchmarks/service_query.py [--image cocus-rag:dev] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import urllib.request

from service_common import (
    DEFAULT_IMAGE,
    container_cpu_seconds,
    free_port,
    machine,
    run_load,
    start_container,
    stop_container,
    wait_ready,
    write_result,
)


def _median_of(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def _with_cpu(cid: str, port: int, clients: int, per_client: int) -> dict:
    """One load run, plus the server's CPU time per request: unlike latency and throughput on this shared
    2-core machine, it hardly depends on what else runs (2000 / cpu_ms = the requests 2 idle cores could serve)."""
    before = container_cpu_seconds(cid)
    run = run_load(port, clients, per_client)
    run["server_cpu_ms_per_request"] = round((container_cpu_seconds(cid) - before) * 1000 / max(1, run["requests"]), 3)
    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--image", default=DEFAULT_IMAGE)
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra container env")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--single-requests", type=int, default=300)
    p.add_argument("--concurrent-requests", type=int, default=100, help="per client")
    args = p.parse_args()
    meta = machine()
    port = free_port()
    cid = start_container(args.image, port, dict(e.split("=", 1) for e in args.env))
    try:
        wait_ready(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/version") as resp:
            version = json.load(resp)
        run_load(port, 4, 25)  # warm-up
        single = [_with_cpu(cid, port, 1, args.single_requests) for _ in range(args.repeats)]
        concurrent = [_with_cpu(cid, port, 16, args.concurrent_requests) for _ in range(args.repeats)]
    finally:
        stop_container(cid)
    result = {
        "image": args.image,
        "extra_env": args.env,
        "index_version": version["index_version"],
        "corpus_chunks": version["corpus_chunks"],
        "embedding_model": version["embedding_model"],
        "generator": version["generator"],
        "cache": "off (no REDIS_URL)",
        "single_client": {"p50_ms": _median_of(single, "p50_ms"), "p99_ms": _median_of(single, "p99_ms"),
                          "throughput_rps": _median_of(single, "throughput_rps"),
                          "server_cpu_ms_per_request": _median_of(single, "server_cpu_ms_per_request"),
                          "runs": single},
        "concurrent_16": {"throughput_rps": _median_of(concurrent, "throughput_rps"),
                          "p50_ms": _median_of(concurrent, "p50_ms"), "p99_ms": _median_of(concurrent, "p99_ms"),
                          "server_cpu_ms_per_request": _median_of(concurrent, "server_cpu_ms_per_request"),
                          "runs": concurrent},
        "targets": {"single_p50_ms": 15, "concurrent_rps": 150, "concurrent_p99_ms": 200},
        "machine": meta,
    }
    s, c = result["single_client"], result["concurrent_16"]
    result["meets_targets"] = s["p50_ms"] <= 15 and c["throughput_rps"] >= 150 and c["p99_ms"] <= 200
    result["errors"] = sum(r["errors"] for r in single + concurrent)
    write_result("service_query", result)


if __name__ == "__main__":
    main()

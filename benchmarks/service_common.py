"""Shared helpers for the service benchmarks: run the image on 127.0.0.1 (host network), wait for
readiness, and a small keep-alive HTTP/1.1 load generator (asyncio streams, no client library in
the hot path so the client steals as little CPU from the server as possible on a 2-core box)."""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_IMAGE = "cocus-rag:dev"
API_KEY = "bench-key-not-secret"
QUESTIONS = [json.loads(line)["question"] for name in ("questions", "paraphrased_dev", "paraphrased_heldout")
             for line in (ROOT / "service" / "eval" / f"{name}.jsonl").read_text().splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout.strip()


def start_container(image: str, port: int, extra_env: dict[str, str] | None = None) -> str:
    env = {"PORT": str(port), "COCUS_HOST": "127.0.0.1", "COCUS_API_KEYS": API_KEY,
           "COCUS_RATE_LIMIT_PER_MINUTE": "0", **(extra_env or {})}
    argv = ["run", "-d", "--rm", "--network", "host"]
    for k, v in env.items():
        argv += ["-e", f"{k}={v}"]
    return docker(*argv, image)


def wait_ready(port: int, timeout: float = 60.0, interval: float = 0.01) -> float:
    """Seconds until GET /readyz answers 200 (raises on timeout)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"/readyz on 127.0.0.1:{port} not 200 after {timeout}s")


def container_cpu_seconds(cid: str) -> float:
    """CPU time (user + system, all threads) the container's server process has used so far."""
    import os

    pid = docker("inspect", "-f", "{{.State.Pid}}", cid)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_container(cid: str) -> None:
    docker("stop", "-t", "10", cid, check=False)


def percentile(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def summary_ms(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(samples) * 1000, 3), "p90_ms": round(percentile(samples, 90) * 1000, 3),
            "p99_ms": round(percentile(samples, 99) * 1000, 3), "mean_ms": round(statistics.fmean(samples) * 1000, 3),
            "n": len(samples)}


def _request(question: str, port: int) -> bytes:
    body = json.dumps({"question": question}).encode()
    head = (f"POST /v1/query HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"X-API-Key: {API_KEY}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return head + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    return status, await reader.readexactly(length)


async def _client(port: int, n: int, offset: int, latencies: list[float], errors: list[str],
                  stop_at: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i in range(n):
            if time.perf_counter() > stop_at:
                break
            req = _request(QUESTIONS[(offset + i) % len(QUESTIONS)], port)
            t0 = time.perf_counter()
            writer.write(req)
            status, body = await _read_response(reader)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(f"{status} {body[:120]!r}")
    finally:
        writer.close()


def run_load(port: int, clients: int, requests_per_client: int, max_seconds: float = 60) -> dict:
    """``clients`` keep-alive connections each sending ``requests_per_client`` queries back to back."""
    latencies: list[float] = []
    errors: list[str] = []

    async def main() -> float:
        stop_at = time.perf_counter() + max_seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(_client(port, requests_per_client, c * 7, latencies, errors, stop_at)
                               for c in range(clients)))
        return time.perf_counter() - t0

    wall = asyncio.run(main())
    return {"clients": clients, "requests": len(latencies), "errors": len(errors), "error_samples": errors[:3],
            "wall_s": round(wall, 3), "throughput_rps": round(len(latencies) / wall, 1), **summary_ms(latencies)}


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(data, indent=2))
    return path


def machine() -> dict:
    import os
    import platform

    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}

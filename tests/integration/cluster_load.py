"""Bounded load through the local cluster's Service proxy, for the GKE tests and benchmarks: one new TCP
connection per request (the proxy balances connections, so each request may land on another pod), the
revision that answered counted from the body (the test app's `revision`, the service's `/version`)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Load:
    """Threads sending POST /v1/query (or GET `path`) to the Service's local port until stopped (bounded)."""

    url: str
    path: str = "/v1/query"
    threads: int = 4
    max_requests: int = 20_000
    max_seconds: float = 240.0
    served: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _worker(self) -> None:
        parts = urlsplit(self.url)
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if sum(self.served.values()) + len(self.failures) >= self.max_requests:
                    return
            # Generous: the shared 2-core machine can stall a process for seconds; a slow answer is not lost.
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            try:
                if self.path == "/v1/query":
                    conn.request("POST", self.path, body=json.dumps({"question": "q"}),
                                 headers={"Content-Type": "application/json"})
                else:
                    conn.request("GET", self.path)
                response = conn.getresponse()
                body = response.read()
                with self._lock:
                    if response.status == 200:
                        data = json.loads(body)  # the test app says `revision`, the service's /version `k_revision`
                        self.served[data.get("revision") or data.get("k_revision") or "?"] += 1
                    else:
                        self.failures.append(f"HTTP {response.status}")
            except OSError as exc:
                with self._lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
            finally:
                conn.close()
            time.sleep(0.01)

    def __enter__(self) -> Load:
        self._workers = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)


def sample(url: str, count: int) -> Counter:
    """`count` sequential requests, each on a new connection (the proxy balances connections)."""
    parts = urlsplit(url)
    seen: Counter = Counter()
    for _ in range(count):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            conn.request("GET", "/")
            seen[json.loads(conn.getresponse().read())["revision"]] += 1
        finally:
            conn.close()
    return seen

"""A tiny stand-in for the RAG service on the local cluster (built on the base image, pushed by digest), and
the bounded load the tests and benchmarks send to it.

It speaks the service's contract the chart relies on: binds `$COCUS_HOST:$PORT`, `/healthz`, `/readyz`,
`POST /v1/query` (answers with its `K_REVISION`, so a test sees which revision served each request),
drains in-flight requests on SIGTERM and exits 0. `APP_MODE=crash` exits at start with a recognisable log
line; `APP_MODE=badquery` answers `/v1/query` with 500 (ready, but broken); `/burn?ms=N` burns CPU (HPA).
"""

from __future__ import annotations

import http.client
import io
import json
import tarfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

APP = r'''
import json, os, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODE = os.environ.get("APP_MODE", "ok")
REV = os.environ.get("K_REVISION", "")
if MODE == "crash":
    print("starting rag service", REV, flush=True)
    print("FATAL: cannot open the vector index at /data/index (APP_MODE=crash)", flush=True)
    sys.exit(3)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, code, payload):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path in ("/healthz", "/readyz"):
            return self._send(200, {"status": "ok", "revision": REV})
        if url.path == "/burn":
            end = time.process_time() + min(float(parse_qs(url.query).get("ms", ["100"])[0]), 1000.0) / 1000
            while time.process_time() < end:
                pass
        self._send(200, {"revision": REV, "mode": MODE})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        question = json.loads(self.rfile.read(length) or b"{}").get("question")
        if self.path != "/v1/query":
            return self._send(404, {"detail": "not found"})
        if MODE == "badquery":
            return self._send(500, {"detail": "index error"})
        self._send(200, {"answer": "42", "question": question, "revision": REV})


server = ThreadingHTTPServer((os.environ.get("COCUS_HOST", "0.0.0.0"), int(os.environ["PORT"])), Handler)
server.daemon_threads = False


def drain(*_):
    server.shutdown()  # no new requests; the ones in flight finish (non-daemon handler threads)
    server.server_close()


signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=drain).start())
print("listening on", server.server_address, "revision", REV, flush=True)
server.serve_forever()
'''

DOCKERFILE = """ARG BASE_IMAGE=cocus/python-base:3.11-bookworm
FROM ${BASE_IMAGE}
ARG APP_MODE=ok
ARG APP_VERSION=v0
ENV APP_MODE=$APP_MODE APP_VERSION=$APP_VERSION PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY app.py /app/app.py
USER 10001:10001
CMD ["python3", "/app/app.py"]
"""


@dataclass(frozen=True)
class AppImage:
    repository: str
    digest: str

    @property
    def ref(self) -> str:
        return f"{self.repository}@{self.digest}"


def _context() -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in (("Dockerfile", DOCKERFILE), ("app.py", APP)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def build_app_image(version: str, mode: str, *, registry: str, base_image: str,
                    repo: str = "cocus-test/gke-app") -> AppImage:
    """Build, push and return `registry/repo@sha256:…` of the app in `mode` (the version makes digests differ)."""
    import docker

    client = docker.from_env()
    repository = f"{registry}/{repo}"
    tag = f"{version}-{mode}"
    client.images.build(fileobj=_context(), custom_context=True, tag=f"{repository}:{tag}", network_mode="host",
                        rm=True, buildargs={"APP_MODE": mode, "APP_VERSION": version, "BASE_IMAGE": base_image})
    for line in client.images.push(repository, tag=tag, stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(f"push of {repository}:{tag} failed: {line['error']}")
    digests = client.images.get(f"{repository}:{tag}").attrs["RepoDigests"]
    digest = next(d.split("@", 1)[1] for d in digests if d.startswith(repository + "@"))
    return AppImage(repository, digest)


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

"""Test support for the Cloud Run and GKE tests and benchmarks: tiny test images built on the local base image.

The test app is a stdlib HTTP server that listens on `$COCUS_HOST:$PORT` (127.0.0.1 unless a pod gives it its
own address) and answers `/readyz`, `/v1/query` and `/` with its `K_REVISION`, so a test can see which revision
served each request; `/burn?ms=N` burns CPU (an HPA's load); on SIGTERM it finishes the requests in flight and
exits, as the service drains. `APP_MODE=crash` exits at
start with a recognisable log line; `APP_MODE=slow` waits `START_DELAY` seconds before listening;
`APP_MODE=degrade` turns `/readyz` to 503 `DEGRADE_AFTER` seconds after start; `APP_MODE=badquery` fails
`/v1/query` with 500; `APP_MODE=flaky` fails every 5th `/v1/query` (20 %) with 500, the first one succeeds.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass

BASE_IMAGE = "cocus/python-base:3.11-bookworm"
REGISTRY = "127.0.0.1:5000"

APP = r'''
import json, os, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODE = os.environ.get("APP_MODE", "ok")
VERSION = os.environ.get("APP_VERSION", "v0")
if MODE == "crash":
    print("starting rag service", VERSION, flush=True)
    print("FATAL: cannot open the vector index at /data/index (APP_MODE=crash)", flush=True)
    sys.exit(3)
if MODE == "slow":
    time.sleep(float(os.environ.get("START_DELAY", "3")))

REV = os.environ.get("K_REVISION", "")
STARTED = time.monotonic()
QUERIES = iter(range(1, 1 << 62))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # one write per response (no Nagle/delayed-ACK stalls)
    disable_nagle_algorithm = True

    def _send(self, code, payload):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/burn":
            end = time.process_time() + min(float(parse_qs(url.query).get("ms", ["100"])[0]), 1000.0) / 1000
            while time.process_time() < end:
                pass
        if self.path == "/readyz":
            degraded = time.monotonic() - STARTED > float(os.environ.get("DEGRADE_AFTER", "5"))
            if MODE == "degrade" and degraded:
                return self._send(503, {"status": "degraded"})
            return self._send(200, {"status": "ready", "revision": REV})
        env = {k: v for k, v in os.environ.items() if k.startswith(("K_", "APP_", "PORT", "GREETING"))}
        self._send(200, {"revision": REV, "version": VERSION, "env": env, "argv": sys.argv})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        query = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/v1/query":
            if MODE == "badquery" or (MODE == "flaky" and next(QUERIES) % 5 == 0):
                return self._send(500, {"detail": "index error"})
            return self._send(200, {"answer": "42", "question": query.get("question"), "revision": REV})
        self._send(404, {"detail": "not found"})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer((os.environ.get("COCUS_HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler)
server.daemon_threads = False


def drain():
    server.shutdown()  # no new requests; the ones in flight finish (non-daemon handler threads)
    server.server_close()


signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=drain).start())
print("listening on", os.environ["PORT"], "revision", REV, flush=True)
server.serve_forever()
'''

DOCKERFILE = f"""FROM {BASE_IMAGE}
ARG APP_VERSION=v0
ARG APP_MODE=ok
ENV APP_VERSION=$APP_VERSION APP_MODE=$APP_MODE PYTHONUNBUFFERED=1
COPY app.py /app/app.py
CMD ["python3", "/app/app.py"]
"""


@dataclass(frozen=True)
class TestImage:
    tag: str  # REGISTRY/REPO:TAG
    ref: str  # REGISTRY/REPO@sha256:...
    digest: str


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


def build_test_image(
    version: str, mode: str = "ok", *, repo: str = "cocus-test/emu-app", registry: str = REGISTRY
) -> TestImage:
    """Build the test app as `registry/repo:version-mode`, push it and return its digest reference."""
    import docker

    client = docker.from_env()
    tag = f"{registry}/{repo}:{version}-{mode}"
    client.images.build(
        fileobj=_context(), custom_context=True, tag=tag, network_mode="host", rm=True,
        buildargs={"APP_VERSION": version, "APP_MODE": mode},
    )
    repository, _, image_tag = tag.rpartition(":")
    for line in client.images.push(repository, tag=image_tag, stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(f"push of {tag} failed: {line['error']}")
    image = client.images.get(tag)
    digests = [d for d in image.attrs.get("RepoDigests", []) if d.startswith(f"{registry}/{repo}@")]
    if not digests:
        raise RuntimeError(f"no registry digest recorded for {tag}")
    ref = digests[0]
    return TestImage(tag=tag, ref=ref, digest=ref.split("@", 1)[1])


class LoadGenerator:
    """Constant, bounded load on a 127.0.0.1 URL from a few threads; records every failure.

    A request fails when it gets no answer or a status >= 500. `max_requests` and `max_seconds` bound it.
    Each failure keeps the revision that answered (`X-Cocus-Revision`), in `failed_revisions`.
    """

    def __init__(self, url: str, *, threads: int = 4, max_requests: int = 20000, max_seconds: float = 120.0,
                 path: str = "/", json_body: object | None = None, headers: dict[str, str] | None = None) -> None:
        from urllib.parse import urlparse

        if urlparse(url).hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"load is only ever sent to 127.0.0.1, not {url}")
        self.url = url.rstrip("/") + path
        self.json_body = json_body  # POST it when given, else GET
        self.headers = headers or {}
        self.threads = threads
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.ok = 0
        self.failures: list[str] = []
        self.revisions: dict[str, int] = {}
        self.failed_revisions: dict[str, int] = {}
        self._stop = False
        self._lock = __import__("threading").Lock()
        self._workers: list = []

    def _run(self) -> None:
        import time

        import httpx

        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(timeout=10.0) as client:
            while not self._stop and time.monotonic() < deadline:
                with self._lock:
                    if self.ok + len(self.failures) >= self.max_requests:
                        return
                try:
                    if self.json_body is None:
                        resp = client.get(self.url, headers=self.headers)
                    else:
                        resp = client.post(self.url, json=self.json_body, headers=self.headers)
                    failed = resp.status_code >= 500
                    detail = f"HTTP {resp.status_code}: {resp.text[:80]}"
                    rev = resp.headers.get("X-Cocus-Revision", "")
                except httpx.HTTPError as exc:
                    failed, detail, rev = True, f"{type(exc).__name__}: {exc}", ""
                with self._lock:
                    if failed:
                        self.failures.append(detail)
                        self.failed_revisions[rev] = self.failed_revisions.get(rev, 0) + 1
                    else:
                        self.ok += 1
                        self.revisions[rev] = self.revisions.get(rev, 0) + 1
                time.sleep(0.005)

    def __enter__(self) -> LoadGenerator:
        import threading

        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        for w in self._workers:
            w.join(timeout=30)

    @property
    def total(self) -> int:
        return self.ok + len(self.failures)


def emulator_process(home: object):  # noqa: ANN201 - a context manager yielding EmulatorInfo
    """Start an emulator for `home` (any free port) and stop it (and its containers) afterwards."""
    from contextlib import contextmanager
    from pathlib import Path

    from cocusctl.emulator import process

    @contextmanager
    def _cm():  # noqa: ANN202
        info, _ = process.start(port=0, home=Path(str(home)))
        try:
            yield info
        finally:
            process.stop(Path(str(home)))

    return _cm()


def write_config(path: object, endpoint: str, *, service: str, registry: str = REGISTRY,
                 environments: tuple[str, ...] = ("local-staging", "local-prod"), contract: str = "none",
                 analysis: dict[str, object] | None = None, quality_gate: dict[str, object] | None = None,
                 **settings: object) -> None:
    """A cocus.yaml whose environments (one GCP project each) target the emulator at `endpoint`.

    `settings` are revision settings (memory, env, secrets, …) or release settings (strategy, smoke_query…);
    `analysis` is each environment's canary analysis block, `quality_gate` its quality gate (off unless given:
    most test images are not the RAG service); the test app publishes no settings contract
    (`contract="cocus-rag"` for the real service).
    """
    import json as _json
    from pathlib import Path

    from cocusctl.core.config import RevisionSettings

    revision = {"memory": "256Mi", **{k: v for k, v in settings.items() if k in RevisionSettings.model_fields}}
    release = {"smoke_query": "What is the answer?", "step_pause_s": 1,
               **{k: v for k, v in settings.items() if k not in RevisionSettings.model_fields}}
    envs = {
        name: {"target": "cloudrun", "project": name, "region": "local", "infrastructure": False,
               "registry": {"url": f"{registry}/{name}", "insecure": True},
               "cloudrun": {"api_endpoint": endpoint, "service": service}, "revision": revision, "release": release,
               "quality_gate": quality_gate if quality_gate is not None else {"enabled": False},
               **({"analysis": analysis} if analysis is not None else {})}
        for name in environments
    }
    doc = {"version": 1, "service": {"settings_contract": contract}, "default_environment": environments[0],
           "environments": envs}
    Path(str(path)).write_text(_json.dumps(doc, indent=1))  # JSON is YAML

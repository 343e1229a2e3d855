"""Helpers for tests and benchmarks: tiny test images built on the local base image, pushed by digest.

The test app is a stdlib HTTP server that listens on `$PORT` and answers `/readyz`, `/v1/query` and `/`
with its `K_REVISION`, so a test can see which revision served each request. `APP_MODE=crash` exits at
start with a recognisable log line; `APP_MODE=slow` waits `START_DELAY` seconds before listening.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass

BASE_IMAGE = "cocus/python-base:3.11-bookworm"
REGISTRY = "127.0.0.1:5000"

APP = r'''
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = os.environ.get("APP_MODE", "ok")
VERSION = os.environ.get("APP_VERSION", "v0")
if MODE == "crash":
    print("starting rag service", VERSION, flush=True)
    print("FATAL: cannot open the vector index at /data/index (APP_MODE=crash)", flush=True)
    sys.exit(3)
if MODE == "slow":
    time.sleep(float(os.environ.get("START_DELAY", "3")))

REV = os.environ.get("K_REVISION", "")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code, payload):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/readyz":
            if MODE == "unready":
                return self._send(503, {"status": "not ready"})
            return self._send(200, {"status": "ready", "revision": REV})
        env = {k: v for k, v in os.environ.items() if k.startswith(("K_", "APP_", "PORT", "GREETING"))}
        self._send(200, {"revision": REV, "version": VERSION, "env": env, "argv": sys.argv})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        query = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/v1/query":
            if MODE == "badquery":
                return self._send(500, {"detail": "index error"})
            return self._send(200, {"answer": "42", "question": query.get("question"), "revision": REV})
        self._send(404, {"detail": "not found"})

    def log_message(self, *args):
        pass


print("listening on", os.environ["PORT"], "revision", REV, flush=True)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
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

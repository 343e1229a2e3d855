"""The registry client's auth flow: a token-auth front (Distribution's Bearer-token protocol) on 127.0.0.1
proxying to the real local registry, so the manifests and blobs it serves are real."""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import tempfile
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from cocusctl.adapters.docker_engine import DockerEngine
from cocusctl.adapters.registry import RegistryClient
from cocusctl.core.config import RegistryConfig
from cocusctl.core.errors import CloudApiError

pytestmark = [pytest.mark.docker, pytest.mark.registry]

USER, PASSWORD = "robot", "s3cret-pw"


class TokenFront(http.server.BaseHTTPRequestHandler):
    upstream = "127.0.0.1:5000"
    scheme = "Bearer"
    issued: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def _basic_ok(self) -> bool:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return self.headers.get("Authorization") == expected

    def _challenge(self) -> None:
        host = f"127.0.0.1:{self.server.server_address[1]}"
        repo = urlsplit(self.path).path.split("/v2/", 1)[-1].rsplit("/manifests/", 1)[0].rsplit("/blobs/", 1)[0]
        if self.scheme == "Bearer":
            value = f'Bearer realm="http://{host}/token",service="front",scope="repository:{repo}:pull"'
        else:
            value = 'Basic realm="front"'
        self.send_response(401)
        self.send_header("WWW-Authenticate", value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/token":
            if not self._basic_ok():
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            scope = parse_qs(url.query).get("scope", [""])[0]
            token = f"tok-{uuid.uuid4().hex}"
            TokenFront.issued.append(f"{scope} {token}")
            body = f'{{"token": "{token}"}}'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        auth = self.headers.get("Authorization", "")
        if self.scheme == "Bearer":
            allowed = any(auth == f"Bearer {line.split(' ', 1)[1]}" for line in TokenFront.issued)
        else:
            allowed = self._basic_ok()
        if not allowed:
            self._challenge()
            return
        upstream = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host")}
        upstream.request(self.command, self.path, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _serve


@pytest.fixture(scope="module")
def pushed(docker_engine, local_registry, tmp_path_factory) -> Iterator[tuple[str, str]]:
    context = tmp_path_factory.mktemp("tiny-auth")
    (context / "f.txt").write_text(f"{uuid.uuid4()}\n")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY f.txt /f.txt\n")
    engine = DockerEngine(docker_engine)
    repo = f"cocus-it-auth-{uuid.uuid4().hex[:6]}/tiny"
    engine.build(context, dockerfile="Dockerfile", tag=f"{local_registry}/{repo}:v1", buildargs={})
    digest = engine.push(f"{local_registry}/{repo}", "v1")
    yield repo, digest
    docker_engine.images.remove(f"{local_registry}/{repo}:v1", force=True)


@pytest.fixture(params=["Bearer", "Basic"])
def front(request, local_registry) -> Iterator[str]:
    handler = type("Front", (TokenFront,), {"upstream": local_registry, "scheme": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_challenge_is_answered_with_the_configured_credentials(front, pushed) -> None:
    repo, digest = pushed
    client = RegistryClient(RegistryConfig(url=f"{front}/x", insecure=True, username=USER, password=PASSWORD))
    assert client.ping() == 401  # the ping reports the challenge, it does not answer it
    assert client.manifest_digest(repo, "v1") == digest
    raw, _, got = client.get_manifest(repo, digest)
    assert got == digest
    layer = json.loads(raw)["layers"][0]
    with tempfile.TemporaryFile() as spool:
        assert client.download_blob(repo, layer["digest"], spool) == layer["size"]


def test_without_credentials_access_is_denied(front, pushed) -> None:
    repo, _ = pushed
    client = RegistryClient(RegistryConfig(url=f"{front}/x", insecure=True))
    with pytest.raises(CloudApiError, match=r"access denied \(HTTP 401\)"):
        client.manifest_digest(repo, "v1")


def test_wrong_password_is_denied(front, pushed) -> None:
    repo, _ = pushed
    client = RegistryClient(RegistryConfig(url=f"{front}/x", insecure=True, username=USER, password="nope"))
    with pytest.raises(CloudApiError, match="access denied"):
        client.manifest_digest(repo, "v1")


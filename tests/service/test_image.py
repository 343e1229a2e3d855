"""The built service image (the session's `service_image` fixture, built by `cocusctl build`): it
starts on 127.0.0.1 with host networking, is ready, answers with cited sources from the baked-in
index, reports its revision, runs as UID 10001 and exits 0 on SIGTERM."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest

from .conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.registry, pytest.mark.trivy]

KEY = "image-test-key"


def _get(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 5):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def test_image_serves_answers_from_the_baked_index(docker_engine, service_image) -> None:
    image = docker_engine.images.get(service_image["image_id"])
    cfg = image.attrs["Config"]
    assert cfg["User"] == "10001:10001" and "8080/tcp" in cfg["ExposedPorts"]
    assert cfg["Healthcheck"]["Test"][0] == "CMD" and "healthz" in " ".join(cfg["Healthcheck"]["Test"])
    labels = cfg["Labels"]
    for key in ("revision", "created", "version", "source"):
        assert labels.get(f"org.opencontainers.image.{key}"), key

    port = free_port()
    container = docker_engine.containers.run(
        service_image["image_id"], detach=True, network_mode="host",
        environment={"PORT": str(port), "COCUS_HOST": "127.0.0.1", "COCUS_API_KEYS": KEY,
                     "K_REVISION": "cocus-rag-00007-abc"})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(base + "/readyz")[0] == 200:
                    break
            except (OSError, urllib.error.HTTPError):
                pass
            assert time.monotonic() < deadline, container.logs()[-2000:]
            time.sleep(0.2)
        _, version = _get(base + "/version")
        assert version["git_revision"] == labels["org.opencontainers.image.revision"]
        assert version["k_revision"] == "cocus-rag-00007-abc"
        assert version["corpus_chunks"] >= 10_000 and version["corpus_documents"] > 400
        assert len(version["index_version"]) == 16 and version["embedding_model"].startswith("all-MiniLM-L6-v2")
        status, body = _get(base + "/v1/query", json.dumps({"question": "How do I create a virtual environment?"})
                            .encode(), {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
        assert status == 200
        assert {"library/venv.html", "tutorial/venv.html"} & {s["id"] for s in body["sources"]}
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
        assert cited and max(cited) <= len(body["sources"])
        assert body["sources"][0]["url"].startswith("https://docs.python.org/3.11/")
        assert len({s["id"] for s in body["sources"]}) == len(body["sources"])  # distinct pages
        with pytest.raises(urllib.error.HTTPError) as denied:
            _get(base + "/v1/query", b'{"question": "x"}', {"Content-Type": "application/json"})
        assert denied.value.code == 401
        uid = container.exec_run(["id", "-u"]).output.decode().strip()
        assert uid == "10001"
        container.stop(timeout=15)
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0
        logs = container.logs().decode()
        assert KEY not in logs
        assert all(json.loads(line)["severity"] for line in logs.splitlines() if line.startswith("{"))
    finally:
        container.remove(force=True)

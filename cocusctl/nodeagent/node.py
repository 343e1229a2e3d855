"""The Node object and its heartbeat: registration, the Lease renewed every 10 s, status every minute.

The node controller (controller manager) marks a node NotReady when its Lease is older than 40 s; the
scheduler then stops placing pods there. Node address 127.0.0.1 and the agent's port are where the API
server reaches the kubelet endpoint (`kubectl logs`).
"""

from __future__ import annotations

import datetime
import logging
import os
import platform
import threading
from typing import Any

from cocusctl.adapters.kubernetes import MERGE_PATCH, KubeApi, KubeApiError

Json = dict[str, Any]
log = logging.getLogger("cocusctl.nodeagent.node")

LEASE_SECONDS = 40
RENEW_EVERY_S = 10.0
STATUS_EVERY_S = 60.0
KUBELET_VERSION = "v1.20.2-cocus"


def _micro_time() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _memory_kib() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


def node_status(port: int, docker_version: str, ready: bool = True, since: str | None = None) -> Json:
    """The Node's status; `since` is when its conditions last changed (kept across heartbeats)."""
    capacity = {"cpu": str(os.cpu_count() or 1), "memory": f"{_memory_kib()}Ki", "pods": "110",
                "ephemeral-storage": "10Gi"}
    now = _time()
    since = since or now
    conditions = [
        {"type": kind, "status": "False", "reason": reason, "message": message, "lastHeartbeatTime": now,
         "lastTransitionTime": since}
        for kind, reason, message in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        )
    ]
    conditions.append({"type": "Ready", "status": "True" if ready else "False",
                       "reason": "KubeletReady" if ready else "KubeletNotReady",
                       "message": "cocus node agent is posting ready status" if ready else "stopping",
                       "lastHeartbeatTime": now, "lastTransitionTime": since})
    uname = platform.uname()
    return {
        "capacity": capacity,
        "allocatable": capacity,
        "conditions": conditions,
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                      {"type": "Hostname", "address": uname.node}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "nodeInfo": {
            "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": uname.release,
            "osImage": "cocus local node (Docker)", "containerRuntimeVersion": f"docker://{docker_version}",
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux", "architecture": "amd64",
        },
    }


class NodeHeartbeat(threading.Thread):
    def __init__(self, kube: KubeApi, node: str, port: int, docker_version: str) -> None:
        super().__init__(name="node-heartbeat", daemon=True)
        self.kube = kube
        self.node = node
        self.port = port
        self.docker_version = docker_version
        self._since = _time()
        self._stop_event = threading.Event()

    def register(self) -> None:
        """Create the Node (or take over the existing one) and post a Ready status."""
        labels = {"kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "node.kubernetes.io/instance-type": "cocus-local"}
        try:
            self.kube.request("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                                        "metadata": {"name": self.node, "labels": labels}})
        except KubeApiError as exc:
            if exc.status != 409:
                raise
        self.post_status()
        self.renew_lease()

    def post_status(self, ready: bool = True) -> None:
        if not ready:
            self._since = _time()
        status = node_status(self.port, self.docker_version, ready, self._since)
        self.kube.request("PATCH", f"/api/v1/nodes/{self.node}/status", {"status": status}, content_type=MERGE_PATCH)

    def renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.node}"
        spec = {"holderIdentity": self.node, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": _micro_time()}
        try:
            self.kube.request("PATCH", path, {"spec": spec}, content_type=MERGE_PATCH)
        except KubeApiError as exc:
            if exc.status != 404:
                raise
            self.kube.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                              {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                               "metadata": {"name": self.node, "namespace": "kube-node-lease"}, "spec": spec})

    def run(self) -> None:
        since_status = 0.0
        while not self._stop_event.wait(RENEW_EVERY_S):
            try:
                self.renew_lease()
                since_status += RENEW_EVERY_S
                if since_status >= STATUS_EVERY_S:
                    self.post_status()
                    since_status = 0.0
            except KubeApiError as exc:
                log.warning("heartbeat: %s", exc.message)

    def stop(self) -> None:
        self._stop_event.set()
        try:
            self.post_status(ready=False)
        except KubeApiError as exc:
            log.warning("final node status: %s", exc.message)

"""The node agent process: wires the Node heartbeat, the pod workers, the Service proxy, metrics and the
HTTPS endpoint together, and registers the metrics APIService.

Pods come from a watch on `spec.nodeName=<node>`; each new one gets a loopback IP from the pod CIDR and a
`PodWorker`. On SIGTERM the agent stops its containers (the pods run again on the next start) and
reports the node NotReady.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import threading
from collections.abc import Iterator
from typing import Any

from cocusctl.adapters.kubernetes import KubeApi, KubeApiError
from cocusctl.core.cluster.pki import METRICS_APISERVICE, METRICS_NAMESPACE, METRICS_SERVICE
from cocusctl.nodeagent.config import AgentConfig
from cocusctl.nodeagent.informer import Informer
from cocusctl.nodeagent.metrics import MetricsSampler, PodRef
from cocusctl.nodeagent.node import NodeHeartbeat
from cocusctl.nodeagent.pods import PodWorker, now_rfc3339
from cocusctl.nodeagent.proxy import ServiceProxy
from cocusctl.nodeagent.runtime import LABEL_POD_UID, ContainerInfo, ContainerRuntime
from cocusctl.nodeagent.server import AgentServer

Json = dict[str, Any]
log = logging.getLogger("cocusctl.nodeagent")
SYNC_TIMEOUT_S = 60.0


class IpPool:
    """Loopback addresses for pods, handed out round-robin so a freed address is not reused at once."""

    def __init__(self, cidr: str) -> None:
        network = ipaddress.ip_network(cidr)
        self._hosts = [str(ip) for ip in network.hosts()][1:]   # the first host stays free (127.x.0.1)
        self._used: set[str] = set()
        self._next = 0
        self._lock = threading.Lock()

    def contains(self, ip: str) -> bool:
        return ip in self._hosts

    def take(self, wanted: str | None = None) -> str:
        with self._lock:
            if wanted and wanted in self._hosts and wanted not in self._used:
                self._used.add(wanted)
                return wanted
            for _ in range(len(self._hosts)):
                ip = self._hosts[self._next % len(self._hosts)]
                self._next += 1
                if ip not in self._used:
                    self._used.add(ip)
                    return ip
        raise RuntimeError("the pod CIDR has no free address left")

    def release(self, ip: str) -> None:
        with self._lock:
            self._used.discard(ip)


class NodeAgent:
    def __init__(self, config: AgentConfig, kube: KubeApi, runtime: ContainerRuntime, docker_version: str) -> None:
        self.config = config
        self.kube = kube
        self.runtime = runtime
        self.cluster_id = config.cluster_id
        self.node = config.node
        self.state_dir = config.state_dir
        self.ips = IpPool(config.pod_cidr)
        self.workers: dict[str, PodWorker] = {}
        self._leaving: dict[str, str] = {}
        self._lock = threading.RLock()
        self._orphans: dict[str, list[ContainerInfo]] = {}
        self.heartbeat = NodeHeartbeat(kube, config.node, config.port, docker_version)
        self.proxy = ServiceProxy(kube, self.leaving_ips)
        self.metrics = MetricsSampler(runtime, self.running_pods, config.node)
        self.server = AgentServer(config.port, config.serving_cert, config.serving_key, config.client_ca,
                                  self.metrics, self.container_logs)
        self.pods = Informer(kube, "/api/v1/pods", self._on_pod, query={"fieldSelector": f"spec.nodeName={config.node}"},
                             name="pods")
        self._stopped = threading.Event()

    # --------------------------------------------------------------------------------- lifecycle ---
    def run(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for info in self.runtime.owned(self.cluster_id):
            self._orphans.setdefault(info.labels.get(LABEL_POD_UID, ""), []).append(info)
        self.server.start()
        self._register_metrics_api()
        self._route_kubernetes_service()
        self.proxy.start()
        self.proxy.synced(SYNC_TIMEOUT_S)
        self.metrics.start()
        self.pods.start()
        self.pods.synced.wait(SYNC_TIMEOUT_S)
        with self._lock:
            # Containers of pods that no longer exist (deleted while the agent was down).
            for uid, infos in list(self._orphans.items()):
                if uid not in self.workers:
                    for info in infos:
                        self.runtime.remove(info.id)
                    del self._orphans[uid]
        # Ready last: once `cluster start` sees the node Ready, Services are served and pods taken over.
        self.heartbeat.register()
        self.heartbeat.start()
        log.info("node %s ready: agent on 127.0.0.1:%d, pod CIDR %s", self.node, self.config.port,
                 self.config.pod_cidr)
        self._stopped.wait()

    def stop(self) -> None:
        log.info("stopping: containers of %d pod(s)", len(self.workers))
        self.pods.stop()
        with self._lock:
            workers = list(self.workers.values())
        for worker in workers:
            worker.shutdown()
        for worker in workers:
            worker.join(30)
        self.proxy.stop()
        self.metrics.stop()
        self.heartbeat.stop()
        # The HTTPS endpoint ends with the process (its shutdown() could wait on a client's TLS handshake).
        self._stopped.set()

    def _register_metrics_api(self) -> None:
        """An ExternalName Service (127.0.0.1) in front of this agent, and the APIService using it.

        The aggregator sends requests to `<externalName>:<port>` and checks the serving certificate for
        `cocus-metrics.kube-system.svc` against the caBundle: no ClusterIP routing is needed. An address, not
        `localhost`: a machine whose /etc/hosts lacks that name must not lose its metrics.
        """
        service = {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": METRICS_SERVICE, "namespace": METRICS_NAMESPACE,
                         "labels": {"app.kubernetes.io/managed-by": "cocus-node-agent"}},
            "spec": {"type": "ExternalName", "externalName": "127.0.0.1",
                     "ports": [{"name": "https", "port": self.config.port, "protocol": "TCP"}]},
        }
        api_service = {
            "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": METRICS_APISERVICE, "labels": {"app.kubernetes.io/managed-by": "cocus-node-agent"}},
            "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                     "versionPriority": 100, "caBundle": base64.b64encode(self.config.ca.read_bytes()).decode(),
                     "service": {"namespace": METRICS_NAMESPACE, "name": METRICS_SERVICE, "port": self.config.port}},
        }
        self._apply(f"/api/v1/namespaces/{METRICS_NAMESPACE}/services", METRICS_SERVICE, service)
        self._apply("/apis/apiregistration.k8s.io/v1/apiservices", METRICS_APISERVICE, api_service)

    def _route_kubernetes_service(self) -> None:
        """An EndpointSlice for the `kubernetes` Service: the API server on 127.0.0.1 (its reconciler is off,
        1.20 refuses loopback Endpoints), so the proxy serves the API like any Service."""
        name = "kubernetes-cocus-node-agent"
        endpoint_slice = {
            "apiVersion": f"discovery.k8s.io/{self.proxy.slice_version}", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "kubernetes",
                                    "endpointslice.kubernetes.io/managed-by": "cocus-node-agent"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": self.config.api_port, "protocol": "TCP"}],
        }
        self._apply(f"/apis/discovery.k8s.io/{self.proxy.slice_version}/namespaces/default/endpointslices", name,
                    endpoint_slice)

    def _apply(self, collection: str, name: str, obj: Json) -> None:
        try:
            current = self.kube.request("GET", f"{collection}/{name}")
        except KubeApiError as exc:
            if exc.status != 404:
                raise
            self.kube.request("POST", collection, obj)
            return
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if obj["kind"] == "Service":
            obj["spec"]["clusterIP"] = current["spec"].get("clusterIP", "")
        self.kube.request("PUT", f"{collection}/{name}", obj)

    # ------------------------------------------------------------------------------------ pods ---
    def _on_pod(self, kind: str, pod: Json) -> None:
        uid = pod["metadata"]["uid"]
        with self._lock:
            worker = self.workers.get(uid)
            if kind == "DELETED":
                if worker is not None:
                    worker.shutdown(forget=True)
                return
            if worker is not None:
                worker.update(pod)
                return
            if self._stopped.is_set():
                return
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed") and not self._orphans.get(uid) and \
                    not pod["metadata"].get("deletionTimestamp"):
                return  # finished before this agent started: nothing left to run
            previous_ip = (pod.get("status") or {}).get("podIP")
            ip = self.ips.take(previous_ip if previous_ip and self.ips.contains(previous_ip) else None)
            worker = PodWorker(self, pod, ip, self._orphans.pop(uid, []))
            self.workers[uid] = worker
            worker.start()

    def lookup(self, kind: str, namespace: str, name: str) -> Json | None:
        path = {"Secret": "secrets", "ConfigMap": "configmaps"}[kind]
        try:
            return self.kube.request("GET", f"/api/v1/namespaces/{namespace}/{path}/{name}")
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    def event(self, pod: Json, kind: str, reason: str, message: str) -> None:
        meta = pod["metadata"]
        now = now_rfc3339()
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"]},
            "reason": reason, "message": message, "type": kind, "count": 1,
            "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": "kubelet", "host": self.node},
        }
        try:
            self.kube.request("POST", f"/api/v1/namespaces/{meta['namespace']}/events", body)
        except KubeApiError as exc:
            log.debug("event %s for %s: %s", reason, meta["name"], exc.message)

    def leaving(self, uid: str, ip: str) -> None:
        with self._lock:
            self._leaving[uid] = ip
        self.proxy.refresh_all()

    def leaving_ips(self) -> set[str]:
        with self._lock:
            return set(self._leaving.values())

    def finished(self, uid: str) -> None:
        with self._lock:
            worker = self.workers.pop(uid, None)
            self._leaving.pop(uid, None)
            if worker is not None:
                self.ips.release(worker.ip)

    # ------------------------------------------------------------------------- logs and metrics ---
    def running_pods(self) -> list[PodRef]:
        with self._lock:
            workers = list(self.workers.values())
        refs = []
        for worker in workers:
            running = tuple((run.name, run.container_id) for run in worker.runs
                            if run.container_id and run.running_since and run.terminated is None)
            if running:
                meta = worker.pod["metadata"]
                refs.append(PodRef(meta["namespace"], meta["name"], dict(meta.get("labels") or {}), running))
        return refs

    def container_logs(self, namespace: str, pod: str, container: str, previous: bool, tail: int | None,
                       since: int | None, timestamps: bool, follow: bool) -> Iterator[bytes] | None:
        with self._lock:
            worker = next((w for w in self.workers.values()
                           if w.namespace == namespace and w.pod_name == pod), None)
        if worker is None:
            return None
        for name, current, prior in worker.containers():
            if name == container:
                container_id = prior if previous else current
                if not container_id:
                    return None
                return self.runtime.logs(container_id, tail=tail, since=since, timestamps=timestamps,
                                         follow=follow and not previous)
        return None

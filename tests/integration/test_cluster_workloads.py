"""Workloads on the real local control plane: the controller manager's Deployments, ReplicaSets and HPA,
the real scheduler, and the node agent running pods as Docker containers behind its Service proxy.

Every request goes to 127.0.0.1 (the Service's loopback port), bounded in count and time.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

pytestmark = [pytest.mark.kubernetes, pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

LOAD_THREADS = 4
REQUEST_PAUSE_S = 0.02


# --------------------------------------------------------------------------------------- objects ---

def deployment(name: str, image: str, *, replicas: int, max_unavailable: int = 0, max_surge: int = 1,
               ready_after: float = 1.0, progress_deadline: int = 600, cpu_limit: str = "500m") -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "progressDeadlineSeconds": progress_deadline,
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": max_surge}},
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 10,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 2000},
                    "containers": [{
                        "name": "app", "image": image, "imagePullPolicy": "IfNotPresent",
                        "env": [
                            {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "PORT", "value": "8080"},
                            {"name": "READY_AFTER", "value": str(ready_after)},
                        ],
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1,
                                           "failureThreshold": 1},
                        # The usual drain: connections the proxy opened just before the pod left the rotation
                        # are still answered (the same race exists with kube-proxy on GKE).
                        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1"]}}},
                        "startupProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1,
                                         "failureThreshold": 30},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1,
                                          "failureThreshold": 2},
                        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}},
                        "resources": {"requests": {"cpu": "100m", "memory": "32Mi"},
                                      "limits": {"cpu": cpu_limit, "memory": "128Mi"}},
                    }],
                },
            },
        },
    }


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}


def wait_for(what: str, check, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def create(kube, namespace: str, obj: dict) -> dict:
    plural = {"Deployment": "/apis/apps/v1", "Service": "/api/v1",
              "HorizontalPodAutoscaler": "/apis/autoscaling/v2beta2"}[obj["kind"]]
    collection = {"Deployment": "deployments", "Service": "services",
                  "HorizontalPodAutoscaler": "horizontalpodautoscalers"}[obj["kind"]]
    return kube.request("POST", f"{plural}/namespaces/{namespace}/{collection}", obj)


def pods(kube, namespace: str, app: str) -> list[dict]:
    return kube.request("GET", f"/api/v1/namespaces/{namespace}/pods", query={"labelSelector": f"app={app}"})["items"]


def is_ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions") or [])


def rolled_out(kube, namespace: str, name: str) -> bool:
    d = kube.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    s, want = d.get("status") or {}, d["spec"]["replicas"]
    return (s.get("observedGeneration", 0) >= d["metadata"]["generation"] and s.get("updatedReplicas") == want
            and s.get("availableReplicas") == want and s.get("replicas") == want)


def local_address(kube, namespace: str, name: str) -> tuple[str, int]:
    """Where the node agent's proxy serves the Service (the annotation it writes on the Service)."""

    def published():
        svc = kube.request("GET", f"/api/v1/namespaces/{namespace}/services/{name}")
        raw = (svc["metadata"].get("annotations") or {}).get("cluster.cocus.dev/local-ports")
        return json.loads(raw).get("80/TCP") if raw else None

    return "127.0.0.1", int(wait_for("the Service's local port", published, 30))


def set_image(kube, namespace: str, name: str, image: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    kube.request("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", patch,
                 content_type="application/strategic-merge-patch+json")


def deploy(kube, namespace: str, spec: dict) -> tuple[str, int]:
    name = spec["metadata"]["name"]
    create(kube, namespace, spec)
    create(kube, namespace, service(name))
    wait_for("the first rollout", lambda: rolled_out(kube, namespace, name), 120)
    return local_address(kube, namespace, name)


def wait_for_restart(kube, namespace: str, name: str, what: str) -> dict:
    """The pod once its container restarted once and it is Ready again (until then the API may still show
    the status from before)."""

    def restarted():
        current = kube.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        statuses = current["status"].get("containerStatuses") or []
        return current if statuses and statuses[0]["restartCount"] == 1 and is_ready(current) else None

    return wait_for(what, restarted, 90)


# ------------------------------------------------------------------------------------- observers ---

@dataclass
class Load:
    """Constant HTTP load on the Service's loopback address, one new connection per request."""

    address: tuple[str, int]
    path: str = "/"
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    versions: Counter = field(default_factory=Counter)
    early: list[dict] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _worker(self) -> None:
        while not self._stop.is_set():
            try:
                conn = http.client.HTTPConnection(*self.address, timeout=10)
                conn.request("GET", self.path)
                response = conn.getresponse()
                body = response.read()
                conn.close()
                with self._lock:
                    if response.status != 200:
                        self.failures.append(f"HTTP {response.status}")
                    else:
                        self.ok += 1
                        data = json.loads(body)
                        self.versions[data.get("version", "?")] += 1
                        if data.get("probe_passed") is False:
                            self.early.append(data)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                with self._lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
            time.sleep(REQUEST_PAUSE_S)

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(LOAD_THREADS)]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(15)


@dataclass
class ReadyWatch:
    """Samples the Deployment's pods every 100 ms: fewest ready (non-terminating) pods, pods ever Ready."""

    kube: object
    namespace: str
    app: str
    min_ready: int = 10**6
    ever_ready: set = field(default_factory=set)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            current = pods(self.kube, self.namespace, self.app)
            ready = [p for p in current if is_ready(p) and not p["metadata"].get("deletionTimestamp")]
            self.min_ready = min(self.min_ready, len(ready))
            self.ever_ready |= {p["metadata"]["name"] for p in current if is_ready(p)}
            self.samples += 1
            self._stop.wait(0.1)

    def __enter__(self) -> ReadyWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(10)


# ----------------------------------------------------------------------------------------- tests ---

def rolling_update(kube, namespace: str, app_images: dict, *, max_unavailable: int, max_surge: int):
    replicas = 3
    address = deploy(kube, namespace, deployment("web", app_images["v1"], replicas=replicas,
                                                 max_unavailable=max_unavailable, max_surge=max_surge))
    with Load(address) as load, ReadyWatch(kube, namespace, "web") as watch:
        time.sleep(1)
        set_image(kube, namespace, "web", app_images["v2"])
        wait_for("the rollout to v2", lambda: rolled_out(kube, namespace, "web"), 180)
        time.sleep(1)
    return replicas, load, watch


def test_rolling_update_under_load_keeps_serving(kube, namespace, app_images):
    replicas, load, watch = rolling_update(kube, namespace, app_images, max_unavailable=0, max_surge=1)

    assert load.failures == [], load.failures[:5]
    assert load.versions["v1"] > 0 and load.versions["v2"] > 0, load.versions
    assert watch.samples > 20
    assert watch.min_ready >= replicas, f"only {watch.min_ready} ready pods during the rollout"
    # No request reached a pod before a readiness probe had been answered 200 there.
    assert load.early == []
    final = pods(kube, namespace, "web")
    assert len([p for p in final if not p["metadata"].get("deletionTimestamp")]) == replicas
    assert all(p["spec"]["containers"][0]["image"] == app_images["v2"] for p in final
               if not p["metadata"].get("deletionTimestamp"))


def test_max_unavailable_two_shows_the_dip(kube, namespace, app_images):
    """The same observer must catch a rollout that drops capacity: proof the test above can fail."""
    replicas, load, watch = rolling_update(kube, namespace, app_images, max_unavailable=2, max_surge=0)

    assert watch.min_ready <= replicas - 2, f"expected a dip to {replicas - 2}, saw min {watch.min_ready}"


def test_no_traffic_before_readiness(kube, namespace, app_images):
    """A pod that takes 4 s to become ready gets no request until its readiness probe passed."""
    address = deploy(kube, namespace, deployment("slow", app_images["v1"], replicas=1, ready_after=4))
    with Load(address) as load:
        kube.request("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/slow", {"spec": {"replicas": 2}},
                     content_type="application/merge-patch+json")
        wait_for("the second pod", lambda: rolled_out(kube, namespace, "slow"), 60)
        time.sleep(2)
    served_by = Counter()
    assert load.failures == []
    assert load.early == [], load.early[:3]
    assert load.ok > 50
    names = {p["metadata"]["name"] for p in pods(kube, namespace, "slow")}
    served_by.update(names)
    assert len(names) == 2


def test_crashing_image_never_ready_while_old_pods_serve(kube, namespace, app_images, kube_cluster):
    address = deploy(kube, namespace, deployment("crashy", app_images["v1"], replicas=2, progress_deadline=15))
    with Load(address) as load, ReadyWatch(kube, namespace, "crashy") as watch:
        set_image(kube, namespace, "crashy", app_images["crash"])

        def new_pod_restarted():
            for p in pods(kube, namespace, "crashy"):
                statuses = p.get("status", {}).get("containerStatuses") or []
                if p["spec"]["containers"][0]["image"] == app_images["crash"] and statuses \
                        and statuses[0]["restartCount"] >= 1:
                    return p
            return None

        crashing = wait_for("the crashing pod to be restarted", new_pod_restarted, 60)

        def deadline_exceeded():
            d = kube.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/crashy")
            return any(c["type"] == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
                       for c in d.get("status", {}).get("conditions") or [])

        wait_for("the Deployment to report ProgressDeadlineExceeded", deadline_exceeded, 60)
    assert crashing["metadata"]["name"] not in watch.ever_ready
    assert watch.min_ready >= 2
    assert load.failures == []
    assert set(load.versions) == {"v1"}
    last_state = crashing["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert last_state["exitCode"] == 1

    # `cocusctl cluster status` shows the failing pod with its last log lines.
    proc = subprocess.run([sys.executable, "-m", "cocusctl", "cluster", "status", "--home", kube_cluster.home,
                           "--output", "json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    shown = {p["name"]: p for p in json.loads(proc.stdout)["data"]["pods"] if p["namespace"] == namespace}
    failing = shown[crashing["metadata"]["name"]]
    assert not failing["ready"]
    assert any("crash mode" in line for line in failing["log_tail"]), failing


def test_killed_container_is_restarted_and_counted(kube, namespace, app_images, docker_engine):
    deploy(kube, namespace, deployment("victim", app_images["v1"], replicas=1))
    pod = pods(kube, namespace, "victim")[0]
    uid = pod["metadata"]["uid"]
    [container] = docker_engine.containers.list(filters={"label": f"cocus.pod.uid={uid}"})
    container.kill()

    current = wait_for_restart(kube, namespace, pod["metadata"]["name"], "the restart")
    status = current["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["exitCode"] == 137
    # The pod's security context reached Docker.
    [restarted] = docker_engine.containers.list(filters={"label": f"cocus.pod.uid={uid}"})
    host_config = restarted.attrs["HostConfig"]
    assert (restarted.attrs["Config"]["User"], host_config["GroupAdd"]) == ("10001", ["2000"])
    assert host_config["ReadonlyRootfs"] and host_config["CapDrop"] == ["ALL"]
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert status["containerID"] != f"docker://{container.id}"
    # Its log through the API server (pods/log -> the agent's kubelet endpoint), like `kubectl logs`.
    log = kube.text(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/log")
    assert f"{pod['metadata']['name']} version v1 listening on ('{pod['status']['podIP']}', 8080)" in log


def test_hpa_scales_two_to_three_on_cpu(kube, namespace, app_images):
    address = deploy(kube, namespace, deployment("busy", app_images["v1"], replicas=2, cpu_limit="200m"))
    create(kube, namespace, {
        "apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "busy"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "busy"},
                 "minReplicas": 2, "maxReplicas": 3,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                               "target": {"type": "Utilization",
                                                                          "averageUtilization": 50}}}]},
    })

    def pod_metrics():
        items = kube.request("GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods",
                             query={"labelSelector": "app=busy"})["items"]
        return items if len(items) == 2 else None

    assert len(wait_for("pod metrics through the aggregated API", pod_metrics, 60)) == 2
    with Load(address, path="/burn?ms=50") as load:
        def scaled():
            d = kube.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/busy")
            return d["spec"]["replicas"] == 3

        wait_for("the HPA to scale the Deployment to 3", scaled, 180, interval=1)
    hpa = kube.request("GET", f"/apis/autoscaling/v2beta2/namespaces/{namespace}/horizontalpodautoscalers/busy")
    assert hpa["status"]["desiredReplicas"] == 3
    assert load.failures == []


def test_stop_and_start_keep_the_cluster_and_its_workloads(kube, namespace, app_images, kube_cluster, docker_engine):
    """`cluster stop` ends the control plane and the pods' containers; `start` brings both back from the
    kept state: same API address, the pod running again (restart counted), the Service on the same port."""
    from pathlib import Path

    from cocusctl.core.cluster import control_plane

    address = deploy(kube, namespace, deployment("durable", app_images["v1"], replicas=1))
    uid = pods(kube, namespace, "durable")[0]["metadata"]["uid"]
    home = Path(kube_cluster.home)

    stopped = control_plane.stop(home)
    assert stopped.stopped and not stopped.running
    assert not any(c.running for c in stopped.components)
    assert docker_engine.containers.list(all=True, filters={"label": f"cocus.pod.uid={uid}"}) == []
    again = control_plane.stop(home)
    assert not again.stopped

    started = control_plane.start(home, timeout=180)
    assert started.started and started.api == kube_cluster.api and started.node_ready

    [before] = pods(kube, namespace, "durable")
    pod = wait_for_restart(kube, namespace, before["metadata"]["name"], "the pod to run again")
    assert pod["metadata"]["uid"] == uid
    assert pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert local_address(kube, namespace, "durable") == address
    conn = http.client.HTTPConnection(*address, timeout=10)
    conn.request("GET", "/")
    assert json.loads(conn.getresponse().read())["pod"] == pod["metadata"]["name"]
    conn.close()


def test_failing_liveness_probe_restarts_the_container(kube, namespace, app_images):
    address = deploy(kube, namespace, deployment("sickly", app_images["v1"], replicas=1))
    [pod] = pods(kube, namespace, "sickly")
    conn = http.client.HTTPConnection(*address, timeout=10)
    conn.request("GET", "/sick")
    assert json.loads(conn.getresponse().read()) == {"pod": pod["metadata"]["name"], "sick": True}
    conn.close()

    current = wait_for_restart(kube, namespace, pod["metadata"]["name"], "the liveness restart")
    # The agent stopped it (SIGTERM; the app exits 0 on it); the new instance is healthy again.
    assert current["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 0
    events = kube.request("GET", f"/api/v1/namespaces/{namespace}/events",
                          query={"fieldSelector": f"involvedObject.name={pod['metadata']['name']}"})["items"]
    messages = [(e["reason"], e["message"]) for e in events]
    assert any(r == "Unhealthy" and m.startswith("Liveness probe failed: HTTP probe failed with statuscode: 500")
               for r, m in messages), messages
    assert ("Killing", "Container app failed liveness probe, will be restarted") in messages


@pytest.mark.parametrize(("ignore_sigterm", "exit_code"), [(False, 0), (True, 137)])
def test_delete_sends_sigterm_then_sigkill_after_the_grace_period(kube, namespace, app_images, docker_engine,
                                                                   ignore_sigterm, exit_code):
    spec = deployment("graceful", app_images["v1"], replicas=1)
    pod_spec = spec["spec"]["template"]["spec"]
    pod_spec["terminationGracePeriodSeconds"] = 4
    if ignore_sigterm:
        pod_spec["containers"][0]["env"].append({"name": "IGNORE_SIGTERM", "value": "1"})
    deploy(kube, namespace, spec)
    [pod] = pods(kube, namespace, "graceful")
    uid = pod["metadata"]["uid"]
    [container] = docker_engine.containers.list(filters={"label": f"cocus.pod.uid={uid}"})
    # The agent removes the container once it stopped: follow its end and its output live.
    died: list[dict] = []
    output: list[bytes] = []
    events = docker_engine.events(filters={"container": container.id, "event": "die"}, decode=True)
    watchers = [threading.Thread(target=lambda: died.append(next(iter(events))), daemon=True),
                threading.Thread(target=lambda: output.extend(container.logs(stream=True, follow=True)), daemon=True)]
    for t in watchers:
        t.start()
    started = time.monotonic()
    kube.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}")

    def gone():
        return uid not in {p["metadata"]["uid"] for p in pods(kube, namespace, "graceful")}

    wait_for("the pod object to go", gone, 30, interval=0.1)
    took = time.monotonic() - started
    for t in watchers:
        t.join(10)
    events.close()
    assert int(died[0]["Actor"]["Attributes"]["exitCode"]) == exit_code
    log = b"".join(output).decode()
    if ignore_sigterm:
        assert 4 <= took < 12, took   # the whole grace period, then SIGKILL
        assert "SIGTERM: ignored" in log
    else:
        assert took < 4, took          # it stopped on SIGTERM, well within the grace period
        assert "SIGTERM: finishing requests in flight" in log


def test_a_restarted_node_agent_adopts_running_containers(kube, namespace, app_images, kube_cluster, docker_engine):
    """The agent dies (SIGKILL): its pods' containers keep running (the Service's proxy, part of the agent, is
    gone meanwhile), and the agent `cluster start` brings back takes them over instead of restarting them."""
    import os
    import signal
    from pathlib import Path

    from cocusctl.core.cluster import control_plane

    address = deploy(kube, namespace, deployment("steady", app_images["v1"], replicas=1))
    [pod] = pods(kube, namespace, "steady")
    [container] = docker_engine.containers.list(filters={"label": f"cocus.pod.uid={pod['metadata']['uid']}"})
    agent = next(c for c in control_plane.status(Path(kube_cluster.home)).components if c.name == "node-agent")
    assert agent.pid is not None
    os.kill(agent.pid, signal.SIGKILL)
    wait_for("the agent to be gone", lambda: not control_plane.status(Path(kube_cluster.home)).running, 10)

    with Load((pod["status"]["podIP"], 8080)) as direct:   # straight to the pod, no proxy
        time.sleep(1)
    assert direct.failures == [] and direct.ok > 0

    state = control_plane.start(Path(kube_cluster.home), timeout=120)
    assert state.running and state.node_ready
    assert local_address(kube, namespace, "steady") == address
    with Load(address) as load:
        time.sleep(2)
    assert load.failures == [] and load.ok > 0
    [after] = pods(kube, namespace, "steady")
    status = after["status"]["containerStatuses"][0]
    assert status["containerID"] == f"docker://{container.id}" and status["restartCount"] == 0
    assert is_ready(after)

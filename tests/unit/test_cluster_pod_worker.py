"""The pod worker's state machine with in-memory runtime and API: restarts, back-off, phases, init order."""

from __future__ import annotations

import itertools
from pathlib import Path

from cocusctl.nodeagent.pods import PodWorker
from cocusctl.nodeagent.runtime import ContainerInfo, ContainerSpec


class MemoryRuntime:
    """Containers as records; a test ends one with `exit(id, code)`."""

    def __init__(self) -> None:
        self.containers: dict[str, dict] = {}
        self.specs: dict[str, ContainerSpec] = {}
        self._ids = itertools.count(1)

    def ensure_image(self, ref: str, policy: str) -> str:
        return "sha256:" + "ab" * 32

    def image_user(self, ref: str) -> str:
        return "10001"

    def create_and_start(self, spec: ContainerSpec) -> str:
        container_id = f"c{next(self._ids)}"
        self.containers[container_id] = {"running": True, "exit": 0, "labels": spec.labels}
        self.specs[container_id] = spec
        return container_id

    def exit(self, container_id: str, code: int) -> None:
        self.containers[container_id].update(running=False, exit=code)

    def inspect(self, container_id: str) -> ContainerInfo | None:
        c = self.containers.get(container_id)
        if c is None:
            return None
        return ContainerInfo(container_id, c["running"], c["exit"], False, "", "2026-01-01T00:00:00Z",
                             None if c["running"] else "2026-01-01T00:00:05Z", "sha256:ab", c["labels"])

    def stop(self, container_id: str, timeout: int) -> None:
        self.exit(container_id, 143)

    def remove(self, container_id: str) -> None:
        self.containers.pop(container_id, None)

    def logs(self, *args, **kwargs):
        return iter(())

    def exec(self, container_id: str, argv: list[str], timeout: float) -> int:
        return 0

    def usage(self, container_id: str):
        return None

    def owned(self, cluster_id: str) -> list[ContainerInfo]:
        return []


class MemoryKube:
    def __init__(self) -> None:
        self.patches: list[dict] = []

    def request(self, method, path, body=None, **kwargs):
        self.patches.append(body)
        return {"metadata": {"name": "p", "namespace": "ns", "uid": "u"}, "spec": {}, "status": body["status"]}


class Host:
    def __init__(self, tmp: Path) -> None:
        self.kube = MemoryKube()
        self.runtime = MemoryRuntime()
        self.cluster_id = "test"
        self.node = "cocus-node"
        self.state_dir = tmp
        self.events: list[str] = []

    def lookup(self, kind, namespace, name):
        return None

    def event(self, pod, kind, reason, message):
        self.events.append(reason)

    def leaving(self, uid, ip):
        pass

    def finished(self, uid):
        pass


def pod(restart_policy: str = "Always", init: bool = False) -> dict:
    spec = {"restartPolicy": restart_policy,
            "containers": [{"name": "app", "image": "reg/app@sha256:" + "cd" * 32, "command": ["app"],
                            "args": ["--bind", "$(HOST)"],
                            "env": [{"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}]}
    if init:
        spec["initContainers"] = [{"name": "migrate", "image": "reg/app:1"}]
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u"}, "spec": spec,
            "status": {"conditions": [{"type": "PodScheduled", "status": "True"}]}}


def worker(tmp_path, **kwargs) -> tuple[PodWorker, Host]:
    host = Host(tmp_path)
    return PodWorker(host, pod(**kwargs), "127.10.0.2", []), host


def current(w: PodWorker) -> str:
    run = w.runs[0]
    assert run.container_id
    return run.container_id


def test_a_crashing_container_restarts_at_once_then_backs_off(tmp_path):
    w, host = worker(tmp_path)
    w._sync()
    first = current(w)
    spec = host.runtime.specs[first]
    assert (spec.entrypoint, spec.command, spec.env["HOST"]) == (["app"], ["--bind", "127.10.0.2"], "127.10.0.2")
    assert spec.labels["cocus.restart"] == "0"
    assert w._status()["phase"] == "Running"
    host.runtime.exit(first, 1)
    w._sync()
    second = current(w)
    assert second != first and w.runs[0].restart_count == 1
    assert w.runs[0].last_terminated["exitCode"] == 1
    host.runtime.exit(second, 1)
    w._sync()
    status = w._status()["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert "back-off 10s" in status["state"]["waiting"]["message"]
    assert status["restartCount"] == 1 and status["ready"] is False
    w._sync()
    assert current(w) == second   # still backing off: no new container
    assert "BackOff" in host.events


def test_restart_policies_end_in_the_right_phase(tmp_path):
    w, host = worker(tmp_path / "never", restart_policy="Never")
    w._sync()
    host.runtime.exit(current(w), 3)
    w._sync()
    assert w._status()["phase"] == "Failed"
    assert w._status()["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3

    w, host = worker(tmp_path / "onfailure", restart_policy="OnFailure")
    w._sync()
    host.runtime.exit(current(w), 0)
    w._sync()
    assert w._status()["phase"] == "Succeeded"


def test_init_containers_run_first_and_in_order(tmp_path):
    w, host = worker(tmp_path, init=True)
    w._sync()
    assert w.runs[0].container_id is None
    init_id = w.init_runs[0].container_id
    assert init_id and w._status()["phase"] == "Pending"
    initialized = w._status()["conditions"][0]
    assert (initialized["type"], initialized["status"]) == ("Initialized", "False")
    host.runtime.exit(init_id, 0)
    w._sync()
    assert w.runs[0].container_id is not None
    status = w._status()
    assert status["phase"] == "Running"
    assert status["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert [c["type"] for c in status["conditions"]] == ["Initialized", "Ready", "ContainersReady", "PodScheduled"]


def test_status_is_patched_only_when_it_changes(tmp_path):
    w, host = worker(tmp_path)
    w._sync()
    assert w._report() and w._report()
    assert len(host.kube.patches) == 1
    assert host.kube.patches[0]["status"]["podIP"] == "127.10.0.2"

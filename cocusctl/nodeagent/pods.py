"""One Pod's life on the node, like the kubelet's pod worker: containers, probes, restarts, status, deletion.

Each bound Pod gets a `PodWorker` thread. It starts the init containers in order, then the containers,
as Docker containers with host networking on the pod's loopback IP; runs their probes; restarts them per
`restartPolicy` with the kubelet's back-off (immediately, then 10 s doubling to 5 min); and reports
phase, conditions and container statuses with a merge patch whenever they change. On deletion it leaves
the Service backends first, runs preStop hooks, sends SIGTERM, waits out the grace period, SIGKILLs,
removes the containers and deletes the Pod object for good (grace period 0, uid precondition).
"""

from __future__ import annotations

import datetime
import logging
import math
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cocusctl.adapters.kubernetes import MERGE_PATCH, KubeApi, KubeApiError
from cocusctl.nodeagent import podspec, probes
from cocusctl.nodeagent.runtime import (
    LABEL_CLUSTER,
    LABEL_CONTAINER,
    LABEL_POD,
    LABEL_POD_IP,
    LABEL_POD_UID,
    LABEL_RESTART,
    ContainerInfo,
    ContainerRuntime,
    ContainerSpec,
    CreateError,
    ImageError,
)

Json = dict[str, Any]
log = logging.getLogger("cocusctl.nodeagent.pods")

BACKOFF_START_S = 10.0
BACKOFF_MAX_S = 300.0
BACKOFF_RESET_AFTER_S = 600.0
SYNC_PERIOD_S = 0.5
MIN_GRACE_S = 2


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PodHost(Protocol):
    """What a worker needs from the agent around it."""

    kube: KubeApi
    runtime: ContainerRuntime
    cluster_id: str
    node: str
    state_dir: Path

    def lookup(self, kind: str, namespace: str, name: str) -> Json | None: ...
    def event(self, pod: Json, kind: str, reason: str, message: str) -> None: ...
    def leaving(self, uid: str, ip: str) -> None: ...
    def finished(self, uid: str) -> None: ...


@dataclass
class ContainerRun:
    """The state of one container of the pod across its restarts."""

    spec: Json
    init: bool = False
    restart_count: int = 0
    container_id: str | None = None
    ran_before: bool = False             # an earlier agent ran it: the next start is a restart
    previous_id: str | None = None
    image_id: str = ""
    waiting: tuple[str, str] | None = ("ContainerCreating", "")
    running_since: str | None = None
    terminated: Json | None = None       # the current instance ended and will not be restarted (yet)
    last_terminated: Json | None = None  # the previous instance's end (lastState)
    backoff_s: float = 0.0
    next_start_at: float = 0.0
    started_mono: float = 0.0
    started: bool = False
    ready: bool = False
    probes: dict[str, probes.ProbeState] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def state(self) -> Json:
        if self.container_id and self.running_since and self.terminated is None:
            return {"running": {"startedAt": self.running_since}}
        if self.terminated is not None and self.waiting is None:
            return {"terminated": self.terminated}
        reason, message = self.waiting or ("ContainerCreating", "")
        return {"waiting": {"reason": reason, **({"message": message} if message else {})}}

    def _image_id(self) -> str:
        image = str(self.spec.get("image", ""))
        if "@" in image:
            return f"docker-pullable://{image}"
        return f"docker://{self.image_id}" if self.image_id else ""

    def status(self) -> Json:
        out: Json = {
            "name": self.name, "state": self.state(), "lastState": {},
            "ready": self.ready, "restartCount": self.restart_count, "image": self.spec.get("image", ""),
            "imageID": self._image_id(),
        }
        if self.last_terminated:
            out["lastState"] = {"terminated": self.last_terminated}
        if self.container_id:
            out["containerID"] = f"docker://{self.container_id}"
        if not self.init:
            out["started"] = bool(self.started and self.running_since and self.terminated is None)
        return out


def _terminated(info: ContainerInfo | None, container_id: str) -> Json:
    if info is None:
        return {"exitCode": 137, "reason": "ContainerStatusUnknown", "containerID": f"docker://{container_id}",
                "message": "The container could not be located when the pod was deleted."}
    reason = "OOMKilled" if info.oom_killed else ("Completed" if info.exit_code == 0 else "Error")
    out: Json = {"exitCode": info.exit_code, "reason": reason, "containerID": f"docker://{container_id}"}
    if info.started_at:
        out["startedAt"] = info.started_at
    if info.finished_at:
        out["finishedAt"] = info.finished_at
    if info.error:
        out["message"] = info.error
    return out


def _completed(run: ContainerRun) -> bool:
    """Ended with exit code 0 and will not run again (what an init container must do)."""
    return run.terminated is not None and run.waiting is None and run.terminated.get("exitCode") == 0


class PodWorker(threading.Thread):
    def __init__(self, host: PodHost, pod: Json, ip: str, existing: list[ContainerInfo]) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.host = host
        self.pod = pod
        self.uid = str(meta["uid"])
        self.ip = ip
        self.start_time = (pod.get("status") or {}).get("startTime") or now_rfc3339()
        spec = pod["spec"]
        self.init_runs = [ContainerRun(c, init=True) for c in spec.get("initContainers") or []]
        self.runs = [ContainerRun(c) for c in spec.get("containers") or []]
        self.volumes: dict[str, tuple[Path, bool]] | None = None
        self.config_error: str | None = None
        self._reported: Json | None = None
        self._transitions: dict[str, tuple[str, str]] = {}
        self._wake = threading.Event()
        self._stop_now = threading.Event()
        self._forget = False
        self._adopt(existing)
        self._resume(pod.get("status") or {})

    # ---------------------------------------------------------------------------------- identity ---
    @property
    def namespace(self) -> str:
        return str(self.pod["metadata"]["namespace"])

    @property
    def pod_name(self) -> str:
        return str(self.pod["metadata"]["name"])

    @property
    def restart_policy(self) -> str:
        return str(self.pod["spec"].get("restartPolicy") or "Always")

    @property
    def root(self) -> Path:
        return self.host.state_dir / "pods" / self.uid

    def update(self, pod: Json) -> None:
        self.pod = pod
        self._wake.set()

    def shutdown(self, *, forget: bool = False) -> None:
        """End the containers now. The agent stops (the pod runs again on its next start), or with `forget`
        the Pod object is gone already (force-deleted): its volumes go too."""
        self._forget = forget
        self._stop_now.set()
        self._wake.set()

    def containers(self) -> list[tuple[str, str | None, str | None]]:
        """(container name, current id, previous id) for logs and metrics."""
        return [(r.name, r.container_id, r.previous_id) for r in self.init_runs + self.runs]

    def _adopt(self, existing: list[ContainerInfo]) -> None:
        """After an agent restart: take over this pod's containers that still run."""
        by_name: dict[str, ContainerInfo] = {}
        for found in existing:
            name = found.labels.get(LABEL_CONTAINER, "")
            if name not in by_name or int(found.labels.get(LABEL_RESTART, 0)) > int(
                    by_name[name].labels.get(LABEL_RESTART, 0)):
                by_name[name] = found
        for run in self.init_runs + self.runs:
            if run.name not in by_name:
                continue
            info = by_name[run.name]
            run.restart_count = int(info.labels.get(LABEL_RESTART, 0))
            run.container_id = info.id
            run.image_id = info.image_id
            if info.running:
                run.running_since = info.started_at
                run.waiting = None
                run.started_mono = time.monotonic()
                self._new_probes(run)
            elif run.init and info.exit_code == 0:
                run.terminated = _terminated(info, info.id)
                run.waiting = None

    def _resume(self, status: Json) -> None:
        """Containers an earlier agent ran and stopped (cluster stop/start): keep counting their restarts."""
        reported = {c.get("name"): c for c in (status.get("containerStatuses") or [])
                    + (status.get("initContainerStatuses") or [])}
        for run in self.init_runs + self.runs:
            previous = reported.get(run.name) or {}
            if run.container_id or not previous.get("containerID"):
                continue
            run.ran_before = True
            run.restart_count = int(previous.get("restartCount") or 0)
            ended = (previous.get("state") or {}).get("terminated")
            run.last_terminated = ended or {
                "exitCode": 137, "reason": "ContainerStatusUnknown", "containerID": previous["containerID"],
                "message": "The container was stopped with the node agent."}
            if run.init and ended and ended.get("exitCode") == 0:
                run.terminated, run.waiting = ended, None

    # -------------------------------------------------------------------------------------- loop ---
    def run(self) -> None:
        try:
            while True:
                if self._stop_now.is_set():
                    self._stop_containers(grace=2, remove=True)
                    if self._forget:
                        self._cleanup()
                    return
                if self.pod["metadata"].get("deletionTimestamp"):
                    self._terminate()
                    return
                self._sync()
                if not self._report():
                    self._stop_containers(grace=2, remove=True)
                    self._cleanup()
                    return
                self._wake.wait(SYNC_PERIOD_S)
                self._wake.clear()
        except Exception:  # noqa: BLE001 - a worker must never die silently
            log.exception("pod worker %s/%s failed", self.namespace, self.pod_name)
        finally:
            self.host.finished(self.uid)

    def _sync(self) -> None:
        if self.volumes is None:
            try:
                self.volumes = podspec.volumes(self.pod, self.root / "volumes", self.host.lookup)
                self.config_error = None
            except podspec.ConfigError as exc:
                self._config_failed(str(exc))
                return
        if self._phase() in ("Succeeded", "Failed"):
            return
        for run in self.init_runs:
            if not _completed(run):
                self._drive(run)
            if not _completed(run):
                return  # the next init container (or the app) waits for this one
        for run in self.runs:
            self._drive(run)

    def _config_failed(self, message: str) -> None:
        if self.config_error != message:
            self.host.event(self.pod, "Warning", "Failed", f"Error: {message}")
        self.config_error = message
        for run in self.init_runs + self.runs:
            if run.container_id is None:
                run.waiting = ("CreateContainerConfigError", message)

    def _restart_wanted(self, run: ContainerRun, exit_code: int) -> bool:
        if run.init:
            return exit_code != 0 and self.restart_policy != "Never"
        return self.restart_policy == "Always" or (self.restart_policy == "OnFailure" and exit_code != 0)

    def _drive(self, run: ContainerRun) -> None:
        now = time.monotonic()
        if run.container_id and run.terminated is None:
            info = self.host.runtime.inspect(run.container_id)
            if info is not None and info.running:
                self._probe(run, now)
                return
            self._exited(run, info, now)
        if run.terminated is not None and run.waiting is None:
            return  # finished for good
        if now >= run.next_start_at:
            self._start(run, now)

    def _exited(self, run: ContainerRun, info: ContainerInfo | None, now: float) -> None:
        assert run.container_id is not None
        ended = _terminated(info, run.container_id)
        run.ready = False
        run.started = False
        run.running_since = None
        run.terminated = ended
        code = int(ended["exitCode"])
        if not self._restart_wanted(run, code):
            run.waiting = None
            return
        ran_for = now - run.started_mono
        if ran_for >= BACKOFF_RESET_AFTER_S:
            run.backoff_s = 0.0
        delay = run.backoff_s
        run.backoff_s = BACKOFF_START_S if delay == 0 else min(BACKOFF_MAX_S, delay * 2)
        run.next_start_at = now + delay
        if delay:
            run.waiting = ("CrashLoopBackOff",
                           f"back-off {delay:.0f}s restarting failed container={run.name} pod={self.pod_name}")
            self.host.event(self.pod, "Warning", "BackOff", "Back-off restarting failed container")
        else:
            run.waiting = ("ContainerCreating", "")

    def _labels(self, run: ContainerRun, restart: int) -> dict[str, str]:
        return {
            LABEL_CLUSTER: self.host.cluster_id, LABEL_POD_UID: self.uid, LABEL_POD: f"{self.namespace}/{self.pod_name}",
            LABEL_CONTAINER: run.name, LABEL_RESTART: str(restart), LABEL_POD_IP: self.ip,
        }

    def _start(self, run: ContainerRun, now: float) -> None:
        spec = run.spec
        image = str(spec.get("image", ""))
        policy = str(spec.get("imagePullPolicy") or "IfNotPresent")
        try:
            run.image_id = self.host.runtime.ensure_image(image, policy)
        except ImageError as exc:
            reason = "ImagePullBackOff" if run.waiting and run.waiting[0] in ("ErrImagePull", "ImagePullBackOff") \
                else exc.reason
            if reason != "ImagePullBackOff":
                self.host.event(self.pod, "Warning", "Failed", str(exc))
            run.waiting = (reason, str(exc))
            run.backoff_s = BACKOFF_START_S if run.backoff_s == 0 else min(BACKOFF_MAX_S, run.backoff_s * 2)
            run.next_start_at = now + run.backoff_s
            return
        try:
            container = self._container_spec(run, image)
        except podspec.ConfigError as exc:
            self._config_failed(str(exc))
            run.next_start_at = now + 2
            return
        restart = run.restart_count + (1 if run.container_id or run.ran_before else 0)
        try:
            container_id = self.host.runtime.create_and_start(container)
        except CreateError as exc:
            run.waiting = ("RunContainerError", str(exc))
            self.host.event(self.pod, "Warning", "Failed", f"Error: {exc}")
            run.backoff_s = BACKOFF_START_S if run.backoff_s == 0 else min(BACKOFF_MAX_S, run.backoff_s * 2)
            run.next_start_at = now + run.backoff_s
            return
        if run.container_id:
            if run.previous_id:
                self.host.runtime.remove(run.previous_id)
            run.previous_id = run.container_id
            run.last_terminated = run.terminated
        run.restart_count = restart
        run.ran_before = True
        run.container_id = container_id
        info = self.host.runtime.inspect(container_id)
        run.running_since = (info.started_at if info else None) or now_rfc3339()
        run.terminated = None
        run.waiting = None
        run.started_mono = now
        run.started = False
        run.ready = False
        self._new_probes(run)
        self.host.event(self.pod, "Normal", "Started", f"Started container {run.name}")

    def _container_spec(self, run: ContainerRun, image: str) -> ContainerSpec:
        spec = run.spec
        pod = {**self.pod, "status": {**(self.pod.get("status") or {}), "podIP": self.ip,
                                      "podIPs": [{"ip": self.ip}], "hostIP": "127.0.0.1"}}
        env = podspec.environment(pod, spec, self.host.lookup)
        memory, cpus = podspec.limits(spec)
        security = podspec.security(pod, spec)
        if security["run_as_non_root"]:
            user = security["user"] or self.host.runtime.image_user(image)
            uid = user.split(":")[0]
            if not uid.isdigit():
                raise podspec.ConfigError(f"image has non-numeric user ({uid or 'root'}), cannot verify user is non-root")
            if int(uid) == 0:
                raise podspec.ConfigError("container has runAsNonRoot and image will run as root")
        restart = run.restart_count + (1 if run.container_id or run.ran_before else 0)
        return ContainerSpec(
            name=f"k8s_{run.name}_{self.pod_name}_{self.namespace}_{self.uid[:8]}_{restart}",
            image=image,
            labels=self._labels(run, restart),
            env=env,
            entrypoint=[podspec.expand(a, env) for a in spec["command"]] if spec.get("command") else None,
            command=[podspec.expand(a, env) for a in spec["args"]] if spec.get("args") else None,
            working_dir=spec.get("workingDir"),
            user=security["user"],
            groups=security["groups"],
            mem_limit=memory,
            nano_cpus=cpus,
            binds=podspec.binds(spec, self.volumes or {}),
            read_only=security["read_only"],
            cap_add=security["cap_add"],
            cap_drop=security["cap_drop"],
            no_new_privileges=security["no_new_privileges"],
        )

    # ------------------------------------------------------------------------------------ probes ---
    def _new_probes(self, run: ContainerRun) -> None:
        run.probes = {
            kind: probes.ProbeState(run.spec[f"{kind}Probe"], run.started_mono)
            for kind in ("startup", "readiness", "liveness") if run.spec.get(f"{kind}Probe") and not run.init
        }
        run.started = "startup" not in run.probes

    def _attempt(self, run: ContainerRun, kind: str, now: float) -> bool | None:
        state = run.probes[kind]
        if not state.due(now):
            return state.result
        container_id = run.container_id or ""
        ok, message = probes.check(state.probe, run.spec, self.ip,
                                   lambda argv, timeout: self.host.runtime.exec(container_id, argv, timeout))
        if not ok:
            self.host.event(self.pod, "Warning", "Unhealthy", f"{kind.capitalize()} probe failed: {message}")
        return state.record(ok, time.monotonic())

    def _probe(self, run: ContainerRun, now: float) -> None:
        if run.init:
            return
        if not run.started:
            result = self._attempt(run, "startup", now)
            if result is False:
                self._kill_for_restart(run, "startup")
                return
            run.started = result is True
            if not run.started:
                return
            # Liveness and readiness start counting once the startup probe succeeded.
            for kind in ("readiness", "liveness"):
                if kind in run.probes:
                    run.probes[kind] = probes.ProbeState(run.probes[kind].probe, now)
        if "liveness" in run.probes and self._attempt(run, "liveness", now) is False:
            self._kill_for_restart(run, "liveness")
            return
        run.ready = self._attempt(run, "readiness", now) is True if "readiness" in run.probes else True

    def _kill_for_restart(self, run: ContainerRun, kind: str) -> None:
        run.ready = False
        self._report()
        self.host.event(self.pod, "Normal", "Killing",
                        f"Container {run.name} failed {kind} probe, will be restarted")
        if run.container_id:
            self.host.runtime.stop(run.container_id, self._grace())

    # ------------------------------------------------------------------------------------ status ---
    def _phase(self) -> str:
        if any(r.terminated and r.waiting is None and r.terminated.get("exitCode") != 0 for r in self.init_runs):
            return "Failed"
        if not self._init_done():
            return "Pending"
        if any(r.container_id is None and r.terminated is None for r in self.runs):
            return "Pending"
        finals = [r for r in self.runs if r.terminated is not None and r.waiting is None]
        if len(finals) == len(self.runs) and self.runs:
            return "Failed" if any(r.terminated and r.terminated.get("exitCode") != 0 for r in finals) else "Succeeded"
        return "Running"

    def _init_done(self) -> bool:
        return all(_completed(r) for r in self.init_runs)

    def _condition(self, kind: str, ok: bool, reason: str | None = None) -> Json:
        status = "True" if ok else "False"
        previous = self._transitions.get(kind)
        since = previous[1] if previous and previous[0] == status else now_rfc3339()
        self._transitions[kind] = (status, since)
        out: Json = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
        if reason and not ok:
            out["reason"] = reason
        return out

    def _status(self) -> Json:
        ready = bool(self.runs) and all(r.ready for r in self.runs)
        gates = [g.get("conditionType") for g in self.pod["spec"].get("readinessGates") or []]
        current = {c.get("type"): c for c in (self.pod.get("status") or {}).get("conditions") or []}
        gates_ok = all(current.get(g, {}).get("status") == "True" for g in gates)
        conditions = [
            self._condition("Initialized", self._init_done(), "ContainersNotInitialized"),
            self._condition("Ready", ready and gates_ok, "ContainersNotReady"),
            self._condition("ContainersReady", ready, "ContainersNotReady"),
        ]
        if "PodScheduled" in current:
            conditions.append(current["PodScheduled"])
        conditions += [c for t, c in current.items() if t in gates]
        status: Json = {
            "phase": self._phase(), "conditions": conditions, "hostIP": "127.0.0.1", "podIP": self.ip,
            "podIPs": [{"ip": self.ip}], "startTime": self.start_time,
            "containerStatuses": [r.status() for r in self.runs],
        }
        if self.init_runs:
            status["initContainerStatuses"] = [r.status() for r in self.init_runs]
        qos = (self.pod.get("status") or {}).get("qosClass")
        if qos:
            status["qosClass"] = qos
        return status

    def _report(self) -> bool:
        """Patch the pod's status when it changed; False when the Pod object is gone."""
        status = self._status()
        if status == self._reported:
            return True
        try:
            self.pod = self.host.kube.request(
                "PATCH", f"/api/v1/namespaces/{self.namespace}/pods/{self.pod_name}/status",
                {"status": status}, content_type=MERGE_PATCH)
            self._reported = status
        except KubeApiError as exc:
            if exc.status == 404:
                return False
            log.warning("status of %s/%s: %s", self.namespace, self.pod_name, exc.message)
        return True

    # ------------------------------------------------------------------------------- termination ---
    def _grace(self) -> int:
        meta_grace = self.pod["metadata"].get("deletionGracePeriodSeconds")
        if meta_grace is not None:
            return int(meta_grace)
        return int(self.pod["spec"].get("terminationGracePeriodSeconds") or 30)

    def _pre_stop(self, run: ContainerRun, budget: float) -> None:
        handler = (run.spec.get("lifecycle") or {}).get("preStop")
        if not handler or not run.container_id:
            return
        probe = {**handler, "timeoutSeconds": max(1, int(budget))}
        container_id = run.container_id
        probes.check(probe, run.spec, self.ip, lambda argv, timeout: self.host.runtime.exec(container_id, argv, timeout))

    def _stop_containers(self, grace: int, remove: bool) -> None:
        running = [r for r in self.init_runs + self.runs if r.container_id and r.terminated is None]
        threads = [threading.Thread(target=self.host.runtime.stop, args=(r.container_id, grace), daemon=True)
                   for r in running]
        for t in threads:
            t.start()
        for t in threads:
            t.join(grace + 30)
        for run in running:
            assert run.container_id is not None
            run.terminated = _terminated(self.host.runtime.inspect(run.container_id), run.container_id)
            run.waiting = None
            run.ready = False
        if remove:
            for run in self.init_runs + self.runs:
                for container_id in (run.container_id, run.previous_id):
                    if container_id:
                        self.host.runtime.remove(container_id)

    def _terminate(self) -> None:
        self.host.leaving(self.uid, self.ip)
        grace = self._grace()
        deadline = time.monotonic() + grace
        self.host.event(self.pod, "Normal", "Killing", f"Stopping containers (grace period {grace}s)")
        hooks = [threading.Thread(target=self._pre_stop, args=(r, grace), daemon=True)
                 for r in self.runs if r.container_id and r.terminated is None]
        for t in hooks:
            t.start()
        for t in hooks:
            t.join(max(0.0, deadline - time.monotonic()))
        # Like the kubelet: what is left of the grace period after preStop, rounded up, at least 2 s.
        self._stop_containers(max(MIN_GRACE_S, math.ceil(deadline - time.monotonic())), remove=False)
        self._report()
        self._stop_containers(0, remove=True)
        self._cleanup()
        try:
            self.host.kube.request(
                "DELETE", f"/api/v1/namespaces/{self.namespace}/pods/{self.pod_name}",
                {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                 "preconditions": {"uid": self.uid}})
        except KubeApiError as exc:
            if exc.status not in (404, 409):
                log.warning("final delete of %s/%s: %s", self.namespace, self.pod_name, exc.message)

    def _cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

"""What the GKE lifecycle reads from Helm and Kubernetes, as typed values parsed from the API's JSON.

Kubernetes objects arrive as plain JSON dicts (the same on the local 1.20 cluster and on GKE); the
functions here read only the fields every version since 1.20 has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

TRACK_LABEL = "cocus.dev/track"
REVISION_LABEL = "cocus.dev/revision"
# "true" on pods the release's Service sends user traffic to; "false" on a candidate under the quality gate.
# Pods of chart 0.2 lack it (that chart's Service selected every API pod): they serve.
SERVING_LABEL = "cocus.dev/serving"
# A container waiting for one of these reasons will not start by itself: fail now instead of at the timeout.
FATAL_WAITING = frozenset({
    "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError",
})
# A container restarted this often while a rollout waits for it is crashing.
CRASH_RESTARTS = 2


@dataclass(frozen=True)
class HelmRevision:
    revision: int
    status: str  # deployed, superseded, failed, pending-upgrade, …
    description: str = ""
    updated: str = ""
    chart: str = ""  # NAME-VERSION of the chart it was installed from


@dataclass(frozen=True)
class Rollout:
    """A Deployment's rollout as `kubectl rollout status` judges it."""

    name: str
    desired: int
    updated: int
    ready: int
    available: int
    total: int
    done: bool
    stalled: str  # the Progressing condition's message when the progress deadline passed, else ""

    @classmethod
    def from_deployment(cls, deployment: Json) -> Rollout:
        meta, spec, status = deployment["metadata"], deployment.get("spec") or {}, deployment.get("status") or {}
        desired = int(spec.get("replicas", 1))
        updated = int(status.get("updatedReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        total = int(status.get("replicas") or 0)
        observed = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
        stalled = next((c.get("message", "") for c in status.get("conditions") or []
                        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"), "")
        return cls(name=meta["name"], desired=desired, updated=updated, ready=int(status.get("readyReplicas") or 0),
                   available=available, total=total, stalled=stalled,
                   done=observed and updated == desired and available == desired and total == desired)

    def describe(self) -> str:
        return (f"{self.name}: {self.updated}/{self.desired} updated, {self.available}/{self.desired} available"
                + (f", {self.total - self.updated} old" if self.total > self.updated else ""))


@dataclass(frozen=True)
class Pod:
    name: str
    ip: str
    track: str
    revision: str
    image: str
    ready: bool
    terminating: bool
    serving: bool  # the Service sends it user traffic (when ready)
    labelled: bool  # carries the serving label (pods of chart 0.2 do not)
    restarts: int
    waiting_reason: str
    waiting_message: str
    last_exit: str  # "exit 3 (Error)" of the last terminated run, or ""
    created: str
    unschedulable: str  # the scheduler's message while no node fits the pod (transient where nodes autoscale)

    @classmethod
    def from_json(cls, pod: Json) -> Pod:
        meta, status = pod["metadata"], pod.get("status") or {}
        labels = meta.get("labels") or {}
        containers = status.get("containerStatuses") or []
        first = containers[0] if containers else {}
        waiting = (first.get("state") or {}).get("waiting") or {}
        terminated = (first.get("lastState") or {}).get("terminated") or (first.get("state") or {}).get(
            "terminated") or {}
        conditions = status.get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        unschedulable = next((c.get("message", "") for c in conditions if c.get("type") == "PodScheduled"
                              and c.get("status") == "False" and c.get("reason") == "Unschedulable"), "")
        spec_containers = (pod.get("spec") or {}).get("containers") or [{}]
        return cls(
            name=meta["name"], ip=status.get("podIP") or "", track=labels.get(TRACK_LABEL, ""),
            revision=labels.get(REVISION_LABEL, ""), image=spec_containers[0].get("image", ""), ready=ready,
            terminating=bool(meta.get("deletionTimestamp")), serving=labels.get(SERVING_LABEL, "true") == "true",
            labelled=SERVING_LABEL in labels, restarts=int(first.get("restartCount") or 0),
            waiting_reason=waiting.get("reason", ""), waiting_message=waiting.get("message", ""),
            last_exit=(f"exit {terminated.get('exitCode')} ({terminated.get('reason', '')})" if terminated else ""),
            created=meta.get("creationTimestamp", ""), unschedulable=unschedulable,
        )

    def failure(self) -> str:
        """Why this pod will not become ready by itself, or ''."""
        if self.waiting_reason in FATAL_WAITING:
            detail = f": {self.waiting_message}" if self.waiting_message else ""
            return f"pod {self.name} is {self.waiting_reason}{detail}" + (
                f" (last run: {self.last_exit})" if self.last_exit else "")
        if self.restarts >= CRASH_RESTARTS:
            return f"pod {self.name} restarted {self.restarts} times" + (
                f" (last run: {self.last_exit})" if self.last_exit else "")
        return ""


@dataclass(frozen=True)
class HttpReply:
    status: int  # 0 = no answer
    body: str = ""

"""The release's workloads in the cluster: rollouts waited for, failures found early, smoke and health checks,
and the traffic each revision gets (its share of ready pods, or the gateway's weights)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cocusctl.core.errors import DeployError, OperationTimeout
from cocusctl.core.gke.api import ClusterApi
from cocusctl.core.gke.model import REVISION_LABEL, SERVING_LABEL, TRACK_LABEL, Pod, Rollout
from cocusctl.core.release.smoke import smoke_test
from cocusctl.core.reporting import Reporter

LOG_LINES = 10
POLL_S = 0.5


@dataclass(frozen=True)
class Smoke:
    """What proves a revision answers: GETs that must be 2xx, and one real query."""

    paths: tuple[str, ...] = ("/readyz",)
    query: str | None = None
    api_key: str | None = field(default=None, repr=False)  # sent as X-API-Key, never printed
    port: int = 8080


@dataclass
class Workloads:
    cluster: ClusterApi
    namespace: str
    release: str
    reporter: Reporter
    sleep: Callable[[float], None] = time.sleep

    @property
    def selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/instance": self.release, "app.kubernetes.io/component": "api"}

    def deployment_name(self, track: str) -> str:
        return self.release if track == "stable" else f"{self.release}-{track}"

    @property
    def candidate_service(self) -> str:
        """The chart's Service of the canary's pods alone (serving or not): the quality gate's way in."""
        return f"{self.release}-candidate"

    def pods(self, **labels: str) -> list[Pod]:
        selector = {**self.selector, **{_label(k): v for k, v in labels.items()}}
        return [Pod.from_json(p) for p in self.cluster.pods(self.namespace, selector)]

    def rollout(self, track: str) -> Rollout | None:
        deployment = self.cluster.deployment(self.namespace, self.deployment_name(track))
        return Rollout.from_deployment(deployment) if deployment else None

    # ------------------------------------------------------------------ waiting
    def wait_rollout(self, track: str, revision: str, timeout_s: float) -> Rollout:
        """Until the track's Deployment runs `revision` on all its replicas, all available; a pod of it that
        crashes or cannot start fails at once with its last log lines."""
        deadline = time.monotonic() + timeout_s
        name = self.deployment_name(track)
        shown = ""
        while True:
            deployment = self.cluster.deployment(self.namespace, name)
            if deployment is None:
                raise DeployError(f"Deployment {name} does not exist after the upgrade")
            rollout = Rollout.from_deployment(deployment)
            if rollout.done:
                self.reporter.info(f"rollout done: {rollout.describe()}")
                return rollout
            self.fail_on_broken_pods(track, revision)
            if rollout.stalled:
                raise DeployError(f"rollout of {name} stalled: {rollout.stalled}")
            if rollout.describe() != shown:
                shown = rollout.describe()
                self.reporter.detail(shown)
            if time.monotonic() >= deadline:
                waiting = next((p.unschedulable for p in self.pods(track=track, revision=revision)
                                if p.unschedulable), "")
                raise OperationTimeout(f"{name} did not finish rolling out {revision} within {timeout_s:g} s "
                                       f"({rollout.describe()})" + (f"; a pod cannot be scheduled: {waiting}"
                                                                    if waiting else ""))
            self.sleep(POLL_S)

    def wait_track_gone(self, track: str, timeout_s: float) -> None:
        """Until no pod of `track` serves any more (each one gone or terminating): a removed canary Deployment
        loses its pods through the garbage collector, a moment after Helm deletes it."""
        deadline = time.monotonic() + timeout_s
        while any(not pod.terminating for pod in self.pods(track=track)):
            if time.monotonic() >= deadline:
                raise OperationTimeout(f"the {track} pods of {self.release} were not removed within {timeout_s:g} s")
            self.sleep(POLL_S)

    def fail_on_broken_pods(self, track: str, revision: str) -> None:
        for pod in self.pods(track=track, revision=revision):
            reason = pod.failure()
            if reason:
                raise self.pod_error(f"revision {revision} is not ready: {reason}", pod)

    def pod_error(self, message: str, pod: Pod) -> DeployError:
        logs = self.cluster.pod_logs(self.namespace, pod.name, tail=LOG_LINES).strip()
        if logs:
            lines = logs.splitlines()[-LOG_LINES:]
            message += "\ncontainer log (last lines):\n" + "\n".join(f"  | {line}" for line in lines)
        return DeployError(message, details=logs or None)

    def wait_service(self, service: str, smoke: Smoke, timeout_s: float) -> str:
        """The Service's URL once it answers the first smoke path: a new Service's endpoints (and, on the local
        cluster, its published port) follow its pods' readiness by a moment."""
        deadline = time.monotonic() + timeout_s
        path = smoke.paths[0] if smoke.paths else "/readyz"
        while True:
            url = self.cluster.service_url(self.namespace, service)
            reply = self.cluster.http("GET", url.rstrip("/") + path, timeout=5.0)
            if 200 <= reply.status < 300:
                return url
            if time.monotonic() >= deadline:
                raise DeployError(f"Service {service} did not answer GET {path} within {timeout_s:g} s "
                                  f"(last: {_got(reply.status)})")
            self.sleep(POLL_S)

    def mark_serving(self) -> None:
        """Label the pods of chart 0.2 (no serving label) as serving before an upgrade to this chart: its Service
        selects the label, and without it those pods would leave the rotation before their successors are ready."""
        for pod in self.pods():
            if not pod.labelled and not pod.terminating:
                self.cluster.label_pod(self.namespace, pod.name, {SERVING_LABEL: "true"})

    # ------------------------------------------------------------------ checks
    def smoke_service(self, smoke: Smoke, revision: str) -> None:
        """Through the Service, as clients reach it: the paths, then the query."""
        url = self.cluster.service_url(self.namespace, self.release)
        self._smoke(url, smoke, f"revision {revision} through Service {self.release}")

    def smoke_candidate(self, smoke: Smoke, revision: str, url: str) -> None:
        """Through the candidate's own Service (no user traffic reaches it)."""
        self._smoke(url, smoke, f"revision {revision} through Service {self.candidate_service}")

    def smoke_pods(self, smoke: Smoke, track: str, revision: str) -> None:
        """Each ready pod of a revision directly (before it carries more traffic)."""
        pods = [p for p in self.pods(track=track, revision=revision) if p.ready and not p.terminating]
        if not pods:
            raise DeployError(f"no ready pod of revision {revision} to smoke-test")
        for pod in pods:
            url = self.cluster.pod_url(self.namespace, pod.name, pod.ip, smoke.port)
            self._smoke(url, smoke, f"pod {pod.name}")

    def health(self, smoke: Smoke, track: str, revision: str) -> None:
        """Between canary steps: the track's rollout still complete and each pod answering its paths."""
        rollout = self.rollout(track)
        if rollout is None or not rollout.done:
            self.fail_on_broken_pods(track, revision)
            raise DeployError(f"health check failed: {rollout.describe() if rollout else track + ' is gone'}")
        for pod in self.pods(track=track, revision=revision):
            if pod.terminating:
                continue
            url = self.cluster.pod_url(self.namespace, pod.name, pod.ip, smoke.port)
            for path in smoke.paths:
                reply = self.cluster.http("GET", url.rstrip("/") + path, timeout=5.0)
                if not 200 <= reply.status < 300:
                    raise self.pod_error(f"health check failed: GET {path} on pod {pod.name} gave "
                                         f"{_got(reply.status)}", pod)

    def _smoke(self, url: str, smoke: Smoke, what: str) -> None:
        def status(method: str, url: str, *, json_body: object | None, headers: dict[str, str] | None,
                   timeout: float) -> int:
            return self.cluster.http(method, url, json_body=json_body, headers=headers, timeout=timeout).status

        smoke_test(status, url, paths=smoke.paths, query=smoke.query, api_key=smoke.api_key, what=what,
                   reporter=self.reporter, sleep=self.sleep)

    # ------------------------------------------------------------------ traffic
    def serving(self) -> dict[str, int]:
        """Ready, non-terminating pods per revision that the Service sends user traffic to."""
        counts: dict[str, int] = {}
        for pod in self.pods():
            if pod.ready and not pod.terminating and pod.serving:
                counts[pod.revision] = counts.get(pod.revision, 0) + 1
        return counts


class ClusterJson:
    """JSON over the cluster's HTTP (`HttpJson` of the quality gate): a body that is not JSON reads as None."""

    def __init__(self, cluster: ClusterApi) -> None:
        self.cluster = cluster

    def __call__(self, method: str, url: str, *, json_body: object | None = None, timeout: float = 10.0,
                 headers: dict[str, str] | None = None) -> tuple[int, object | None]:
        reply = self.cluster.http(method, url, json_body=json_body, headers=headers, timeout=timeout)
        try:
            return reply.status, json.loads(reply.body) if reply.body else None
        except ValueError:
            return reply.status, None


def pod_shares(counts: Mapping[str, int]) -> dict[str, int]:
    """Whole percentages per revision from ready pods, summing to 100 (largest remainder)."""
    total = sum(counts.values())
    if not total:
        return {}
    exact = {rev: 100 * n / total for rev, n in counts.items()}
    shares = {rev: int(v) for rev, v in exact.items()}
    for rev in sorted(exact, key=lambda r: exact[r] - shares[r], reverse=True)[: 100 - sum(shares.values())]:
        shares[rev] += 1
    return shares


def _label(key: str) -> str:
    return {"track": TRACK_LABEL, "revision": REVISION_LABEL}[key]


def _got(status: int) -> str:
    return f"HTTP {status}" if status else "no answer"

"""`deploy`, `split-traffic`, `rollback` and `status` on GKE: Helm revisions of the cocus-mvp chart.

Every change is one `helm upgrade --install` of values computed from the environment (values on stdin),
followed by a watch of the rollout through the Kubernetes API. The Helm revision that served before is
recorded first; any failure (a pod that crashes or cannot start, a smoke test, a health check between canary
steps, a timeout, Ctrl-C) rolls back to exactly that revision. RollingUpdate with `maxUnavailable: 0` and
readiness probes keep the old pods serving until new ones are ready, so no request is lost meanwhile.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cocusctl.core.canary import CanaryAnalyzer
from cocusctl.core.cloudrun.deploy import no_interrupts
from cocusctl.core.cloudrun.traffic import parse_assignments
from cocusctl.core.errors import CocusError, DeployError, Interrupted, OperationTimeout, ToolError, UsageError
from cocusctl.core.gke import values as v
from cocusctl.core.gke.api import ClusterApi, HelmApi
from cocusctl.core.gke.canary import canary_replicas, share
from cocusctl.core.gke.model import HelmRevision, Pod
from cocusctl.core.gke.workloads import ClusterJson, Smoke, Workloads, pod_shares
from cocusctl.core.quality_gate import QualityGate, QualityGateFailed, QualityGateResult, skipped
from cocusctl.core.release.results import (
    ConditionRow,
    DeployResult,
    RevisionRow,
    StatusResult,
    TrafficResult,
    TrafficRow,
)
from cocusctl.core.reporting import Reporter

HISTORY_SHOWN = 10


@dataclass(frozen=True)
class GkePlan:
    """One environment's release: where, the chart's values, and how to roll out."""

    environment: str
    release: str
    namespace: str
    chart: Path
    base_values: v.Values  # the environment's chart values, without api/canary
    strategy: str = "all"
    canary_steps: tuple[int, ...] = (10, 50, 100)
    step_pause_s: float = 30.0
    ready_timeout_s: float = 300.0
    smoke: Smoke = field(default_factory=Smoke)
    health_interval_s: float = 2.0


@dataclass
class GkeRelease:
    helm: HelmApi
    cluster: ClusterApi
    reporter: Reporter
    sleep: Callable[[float], None] = time.sleep
    analyzer: CanaryAnalyzer | None = None  # metric-gated canary: candidate vs stable after each step's pause
    gate: QualityGate | None = None  # eval set on the candidate vs the serving revision, before traffic moves
    gate_result: QualityGateResult | None = None  # set by the gate; preset to "skipped" when it is switched off
    upgrades: int = 0  # Helm upgrades made by the current operation: none means nothing to restore

    def workloads(self, plan: GkePlan) -> Workloads:
        return Workloads(self.cluster, plan.namespace, plan.release, self.reporter, self.sleep)

    # ================================================================== deploy
    def deploy(self, plan: GkePlan, api: v.Values, *, strategy: str | None = None) -> DeployResult:
        """Roll `api` (a revision: image pinned by digest, settings, `revision` set) out as the stable track."""
        started = time.monotonic()
        self.upgrades = 0
        strategy = strategy or plan.strategy
        rev = api["revision"]
        w = self.workloads(plan)
        self.reporter.step(f"Deploying {v.image_ref(api)} to {plan.release} ({plan.environment}, namespace "
                           f"{plan.namespace}) as {rev}")
        target = v.stable_values(plan.base_values, api)
        self._check_values(plan, target)
        history = self.helm.history(plan.release, namespace=plan.namespace)
        deployed = _last_deployed(history)
        if deployed is None:
            result = self._first_deploy(plan, w, api, target, history)
        else:
            result = self._next_deploy(plan, w, api, target, strategy, history, deployed)
        result.duration_s = round(time.monotonic() - started, 3)
        return result

    def _first_deploy(self, plan: GkePlan, w: Workloads, api: v.Values, target: v.Values,
                      history: list[HelmRevision]) -> DeployResult:
        rev = api["revision"]
        self.reporter.step(f"Installing release {plan.release} with {rev} (first deploy)")
        steps: list[str] = []
        try:
            self._upgrade(plan, target, f"cocusctl deploy {rev}")
            steps.append("install")
            w.wait_rollout("stable", rev, plan.ready_timeout_s)
            steps.append("rollout")
            w.smoke_service(plan.smoke, rev)
            steps.append("smoke")
            if self.gate is not None:  # nothing served before: the thresholds of cocus.yaml decide
                self._quality_gate(rev, self.cluster.service_url(plan.namespace, plan.release), None)
                steps.append("quality-gate")
        except (CocusError, KeyboardInterrupt) as exc:
            if isinstance(exc, QualityGateFailed):  # the release is removed below: nothing serves
                exc.result = self._result(plan, w, api, "all", before=[], created=True, changed=False, steps=steps,
                                          outcome="failed").model_copy(update={"url": "", "traffic_after": []})
            with no_interrupts():
                self._uninstall_own(plan)
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted("interrupted during the first deploy; the new release was removed") from None
            raise
        self.reporter.success(f"{plan.release} serves {rev}")
        return self._result(plan, w, api, "all", before=[], created=True, changed=True, steps=steps)

    def _uninstall_own(self, plan: GkePlan) -> None:
        """Undo a failed first install: the release served nothing before."""
        self.reporter.warn(f"first deploy failed; removing release {plan.release} (it served nothing before)")
        try:
            self.helm.uninstall(plan.release, namespace=plan.namespace, timeout_s=plan.ready_timeout_s)
        except CocusError as exc:
            self.reporter.warn(f"could not remove the failed release: {exc.message}")

    def _next_deploy(self, plan: GkePlan, w: Workloads, api: v.Values, target: v.Values, strategy: str,
                     history: list[HelmRevision], deployed: HelmRevision) -> DeployResult:
        rev = api["revision"]
        current = self.helm.values(plan.release, namespace=plan.namespace, revision=deployed.revision)
        before = self.traffic(w, current)
        stable_rollout = w.rollout("stable")
        same_chart = deployed.chart == chart_name(plan.chart)
        if current == target and same_chart and history[-1] == deployed and stable_rollout is not None \
                and stable_rollout.done:
            self.reporter.success(f"{rev} already serves 100 % of {plan.release}; nothing to do")
            return self._result(plan, w, api, strategy, before=before, created=False, changed=False, steps=[],
                                outcome="unchanged")
        previous_rev = v.stable_api(current).get("revision", "")
        created = all(row.revision != rev for row in before)
        steps: list[str] = []
        candidate_url: str | None = None
        gated = self.gate is not None and previous_rev != rev
        if self.gate is not None and not gated:
            self.gate_result = skipped(f"{rev} already is the stable revision: no traffic moves to another one",
                                       self.gate.settings.top_k)
        try:
            w.mark_serving()
            if gated:
                candidate_url = self._gated_candidate(plan, w, v.stable_api(current), api, steps)
            if strategy == "canary" and previous_rev != rev:
                self._canary(plan, w, v.stable_api(current), api, steps)
            self.reporter.step(f"Rolling {plan.release} to {rev}")
            self._upgrade(plan, target, f"cocusctl deploy {rev}")
            w.wait_rollout("stable", rev, plan.ready_timeout_s)
            w.wait_track_gone("canary", plan.ready_timeout_s)
            steps.append("100")
            w.smoke_service(plan.smoke, rev)
            steps.append("smoke")
        except KeyboardInterrupt:
            self._restore(plan, w, deployed, previous_rev)
            raise Interrupted(
                f"interrupted during deploy of {rev}; previous revision {previous_rev} restored",
                result=self._result(plan, w, api, strategy, before=before, created=created, changed=False,
                                    steps=steps, outcome="failed", candidate_url=candidate_url),
            ) from None
        except CocusError as exc:
            if not self.upgrades:
                raise  # nothing was changed
            self._restore(plan, w, deployed, previous_rev)
            message = f"{exc.message}\nprevious revision restored: {previous_rev} (Helm revision {deployed.revision})"
            result = self._result(plan, w, api, strategy, before=before, created=created, changed=False,
                                  steps=steps, outcome="failed", candidate_url=candidate_url)
            if isinstance(exc, (OperationTimeout, QualityGateFailed)):
                raise type(exc)(message, details=exc.details, result=result) from None
            raise DeployError(message, details=exc.details, result=result) from None
        self.reporter.success(f"{rev} serves 100 % of {plan.release}")
        return self._result(plan, w, api, strategy, before=before, created=created, changed=True, steps=steps,
                            candidate_url=candidate_url)

    def _gated_candidate(self, plan: GkePlan, w: Workloads, stable: v.Values, candidate: v.Values,
                         steps: list[str]) -> str:
        """The candidate's pod beside the stable revision, taking no user traffic (`canary.serving: false`): smoke
        test and quality gate through its own Service, the baseline through the release's Service (the stable
        revision alone serves there meanwhile). Its URL; QualityGateFailed when it retrieves worse."""
        rev = candidate["revision"]
        self.reporter.step(f"Starting {rev} with no traffic (Service {w.candidate_service} only)")
        self._upgrade(plan, v.canary_values(plan.base_values, stable, candidate, replicas=1, weight=0, serving=False),
                      f"cocusctl candidate {rev}")
        w.wait_rollout("canary", rev, plan.ready_timeout_s)  # a canary that served before has left the rotation
        w.wait_rollout("stable", stable.get("revision", ""), plan.ready_timeout_s)  # rolls only on a chart upgrade
        steps.append("candidate")
        url = w.wait_service(w.candidate_service, plan.smoke, plan.ready_timeout_s)
        self.reporter.info(f"candidate URL: {url}")
        w.smoke_candidate(plan.smoke, rev, url)
        steps.append("smoke-candidate")
        baseline = stable.get("revision", "")
        self._quality_gate(rev, url, (baseline, self.cluster.service_url(plan.namespace, plan.release)))
        steps.append("quality-gate")
        return url

    def _quality_gate(self, revision: str, url: str, baseline: tuple[str, str] | None) -> None:
        assert self.gate is not None
        against = f"serving revision {baseline[0]}" if baseline else "the thresholds (nothing serves yet)"
        self.reporter.step(f"Quality gate: {len(self.gate.questions)} eval questions on {revision} and {against}")
        try:
            self.gate_result = self.gate.run((revision, url), baseline)
        except QualityGateFailed as exc:
            if isinstance(exc.result, QualityGateResult):
                self.gate_result = exc.result
            raise
        self.reporter.info(f"quality gate passed: {self.gate_result.summary()}")

    def _canary(self, plan: GkePlan, w: Workloads, stable: v.Values, candidate: v.Values, steps: list[str]) -> None:
        rev = candidate["revision"]
        rollout = w.rollout("stable")
        replicas = max(rollout.available if rollout else 1, 1)
        gateway = v.uses_gateway(plan.base_values)
        percents = [p for p in plan.canary_steps if p < 100]
        for i, percent in enumerate(percents):
            pods = (max(1, math.ceil(percent * replicas / 100)) if gateway
                    else canary_replicas(percent, replicas))
            effective = percent if gateway else share(pods, replicas)
            how = "gateway weight" if gateway else f"{pods} of {pods + replicas} ready pods"
            self.reporter.step(f"Canary: {percent} % to {rev} ({how}: {effective} %)")
            self._upgrade(plan, v.canary_values(plan.base_values, stable, candidate, replicas=pods, weight=percent),
                          f"cocusctl canary {rev} {percent}%")
            w.wait_rollout("canary", rev, plan.ready_timeout_s)
            if i == 0:
                w.smoke_pods(plan.smoke, "canary", rev)
                steps.append("smoke-canary")
            steps.append(str(percent))
            marker = self.analyzer.start() if self.analyzer else None
            self._hold(plan, w, rev)
            if self.analyzer is not None:
                result = self.analyzer.finish(marker, percent, rev, [stable.get("revision", "")])
                self.reporter.info(f"canary analysis at {percent} % ({result.source}): {result.verdict}: "
                                   f"{result.summary()}")

    def _hold(self, plan: GkePlan, w: Workloads, rev: str) -> None:
        """Pause between canary steps, checking the candidate's health all along."""
        deadline = time.monotonic() + plan.step_pause_s
        self.reporter.info(f"holding {plan.step_pause_s:g}s with health checks")
        while True:
            w.health(plan.smoke, "canary", rev)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.sleep(min(plan.health_interval_s, remaining))

    def _restore(self, plan: GkePlan, w: Workloads, deployed: HelmRevision, previous_rev: str) -> None:
        """Back to the Helm revision that served before, unless nothing was changed yet."""
        with no_interrupts():
            try:
                latest = self.helm.history(plan.release, namespace=plan.namespace)
                if latest and latest[-1] == deployed:
                    return
                self.reporter.warn(f"rolling back to Helm revision {deployed.revision} ({previous_rev})")
                self.helm.rollback(plan.release, deployed.revision, namespace=plan.namespace,
                                   timeout_s=plan.ready_timeout_s)
                w.wait_rollout("stable", previous_rev, plan.ready_timeout_s)
                if v.canary_api(self.helm.values(plan.release, namespace=plan.namespace)) is None:
                    w.wait_track_gone("canary", plan.ready_timeout_s)
            except CocusError as exc:
                raise DeployError(f"ROLLBACK FAILED: {exc.message}; retry with: cocusctl rollback --env "
                                  f"{plan.environment}") from None
        self.reporter.info(f"restored: {previous_rev}")

    def _upgrade(self, plan: GkePlan, values: v.Values, description: str) -> HelmRevision:
        self.upgrades += 1
        revision = self.helm.upgrade_install(plan.release, plan.chart, values, namespace=plan.namespace,
                                             description=description, timeout_s=plan.ready_timeout_s)
        self.reporter.info(f"Helm revision {revision.revision}: {description}")
        return revision

    def _check_values(self, plan: GkePlan, values: v.Values) -> None:
        """The chart renders with these values (schema, required fields) before anything is touched."""
        try:
            self.helm.template(plan.chart, values, release=plan.release, namespace=plan.namespace)
        except ToolError as exc:
            raise UsageError(f"the chart refuses the values of {plan.environment}: {exc.message}",
                             hint="fix cocus.yaml; `cocusctl render --env ENV` shows the values") from None

    # ================================================================== traffic
    def traffic(self, w: Workloads, values: v.Values) -> list[TrafficRow]:
        """What serves now: gateway weights when a gateway splits, else each revision's share of ready pods."""
        canary = v.canary_api(values)
        if canary is not None and v.uses_gateway(values):
            weight = int((values.get("gateway") or {}).get("canaryWeight", 0))
            rows = [TrafficRow(revision=v.stable_api(values).get("revision", ""), percent=100 - weight,
                               tag="stable"),
                    TrafficRow(revision=canary.get("revision", ""), percent=weight, tag="canary")]
            return [r for r in rows if r.percent]
        # The release's values say which revision each track runs; pods only while a rollout moves them.
        tracks = {p.revision: p.track for p in w.pods() if p.ready and not p.terminating}
        tracks[v.stable_api(values).get("revision", "")] = "stable"
        if canary is not None:
            tracks[canary.get("revision", "")] = "canary"
        return [TrafficRow(revision=rev, percent=pct, tag=tracks.get(rev) or None)
                for rev, pct in sorted(pod_shares(w.serving()).items(), key=lambda kv: (-kv[1], kv[0]))]

    def split_traffic(self, plan: GkePlan, assignments: list[str], *, to_latest: bool = False) -> TrafficResult:
        """`STABLE=90 CANDIDATE=10` (at replica granularity), `REV=100` (that revision becomes stable);
        `to_latest`: the newest revision in the release history takes 100 %."""
        if to_latest and assignments:
            raise UsageError("give either REVISION=PERCENT pairs or --to-latest, not both")
        wanted = [] if to_latest else parse_assignments(assignments)
        w = self.workloads(plan)
        history, deployed, current = self._current(plan)
        before = self.traffic(w, current)
        known = self._known_revisions(plan, history)
        if to_latest:
            wanted = [(next(reversed(known)), 100)]
        for key, _ in wanted:
            if key not in known:
                raise UsageError(f"unknown revision {key!r} (revisions: {', '.join(sorted(known))})")
        nonzero = [(k, p) for k, p in wanted if p]
        stable = v.stable_api(current)
        if len(nonzero) == 1:
            target = v.stable_values(plan.base_values, known[nonzero[0][0]])
        elif len(nonzero) == 2:
            keep = [k for k, _ in nonzero if k == stable.get("revision")]
            if not keep:
                raise UsageError(f"one of the two revisions must be the stable one ({stable.get('revision')}): "
                                 "deploy or split to it first")
            (candidate_key, percent), = [(k, p) for k, p in nonzero if k != keep[0]]
            rollout = w.rollout("stable")
            replicas = max(rollout.available if rollout else 1, 1)
            gateway = v.uses_gateway(plan.base_values)
            pods = max(1, math.ceil(percent * replicas / 100)) if gateway else canary_replicas(percent, replicas)
            if not gateway:
                self.reporter.info(f"{percent} % at replica granularity: {pods} canary pod(s) beside {replicas} "
                                   f"stable = {share(pods, replicas)} %")
            target = v.canary_values(plan.base_values, stable, known[candidate_key], replicas=pods, weight=percent)
        else:
            raise UsageError("GKE splits between at most two revisions (the stable one and one canary)")
        return self._apply(plan, w, history, deployed, current, before, target, "split-traffic")

    def rollback(self, plan: GkePlan, to: str | None = None) -> TrafficResult:
        """Back to the previous stable revision (or `to`): `helm rollback` to the Helm revision that ran it."""
        w = self.workloads(plan)
        history, deployed, current = self._current(plan)
        before = self.traffic(w, current)
        serving = v.stable_api(current).get("revision")
        candidates = [h for h in reversed(history) if h.revision < deployed.revision
                      and h.status in ("superseded", "deployed")]
        for entry in candidates:
            values = self.helm.values(plan.release, namespace=plan.namespace, revision=entry.revision)
            rev = v.stable_api(values).get("revision")
            if v.canary_api(values) is None and rev and rev != serving and (to is None or rev == to):
                self.reporter.step(f"Rolling back {plan.release} to {rev} (Helm revision {entry.revision})")
                return self._apply(plan, w, history, deployed, current, before, None, "rollback",
                                   rollback_to=(entry, rev))
        what = f"revision {to!r}" if to else "a previous revision"
        raise UsageError(f"{what} is not in the release history of {plan.release}"
                         + ("" if to else f" (it only ever ran {serving})"))

    def _apply(self, plan: GkePlan, w: Workloads, history: list[HelmRevision], deployed: HelmRevision,
               current: v.Values, before: list[TrafficRow], target: v.Values | None, action: str, *,
               rollback_to: tuple[HelmRevision, str] | None = None) -> TrafficResult:
        previous_rev = v.stable_api(current).get("revision", "")
        self.upgrades = 0
        if target is not None and target == current:
            self.reporter.success("traffic already is as asked; nothing to do")
            return TrafficResult(environment=plan.environment, action=action, target="gke",
                                 service=plan.release, changed=False, traffic_before=before, traffic_after=before)
        try:
            w.mark_serving()
            if rollback_to is not None:
                entry, rev = rollback_to
                self.upgrades += 1
                self.helm.rollback(plan.release, entry.revision, namespace=plan.namespace,
                                   timeout_s=plan.ready_timeout_s)
                w.wait_rollout("stable", rev, plan.ready_timeout_s)
                w.wait_track_gone("canary", plan.ready_timeout_s)
                w.smoke_service(plan.smoke, rev)
            else:
                assert target is not None
                self._check_values(plan, target)
                self._upgrade(plan, target, f"cocusctl {action}")
                stable_rev = v.stable_api(target)["revision"]
                w.wait_rollout("stable", stable_rev, plan.ready_timeout_s)
                canary = v.canary_api(target)
                if canary is not None:
                    w.wait_rollout("canary", canary["revision"], plan.ready_timeout_s)
                    w.health(plan.smoke, "canary", canary["revision"])
                else:
                    w.wait_track_gone("canary", plan.ready_timeout_s)
                w.smoke_service(plan.smoke, stable_rev)
        except KeyboardInterrupt:
            self._restore(plan, w, deployed, previous_rev)
            raise Interrupted(f"interrupted during {action}; previous revision {previous_rev} restored") from None
        except CocusError as exc:
            if not self.upgrades:
                raise
            self._restore(plan, w, deployed, previous_rev)
            raise DeployError(f"{exc.message}\nprevious revision restored: {previous_rev}",
                              details=exc.details) from exc
        after = self.traffic(w, self.helm.values(plan.release, namespace=plan.namespace))
        self.reporter.success(", ".join(f"{r.revision}={r.percent}%" for r in after))
        return TrafficResult(environment=plan.environment, action=action, target="gke",
                             service=plan.release, changed=True, traffic_before=before, traffic_after=after)

    def _current(self, plan: GkePlan) -> tuple[list[HelmRevision], HelmRevision, v.Values]:
        history = self.helm.history(plan.release, namespace=plan.namespace)
        deployed = _last_deployed(history)
        if deployed is None:
            raise UsageError(f"{plan.release} is not deployed in {plan.environment} (namespace {plan.namespace})",
                             hint=f"cocusctl deploy --env {plan.environment}")
        return history, deployed, self.helm.values(plan.release, namespace=plan.namespace,
                                                   revision=deployed.revision)

    def revision_values(self, plan: GkePlan, revision: str) -> v.Values:
        """The `api` values a revision of the release ran with."""
        history = self.helm.history(plan.release, namespace=plan.namespace)
        known = self._known_revisions(plan, history)
        if revision not in known:
            raise UsageError(f"unknown revision {revision!r} (revisions: {', '.join(sorted(known))})")
        return known[revision]

    def _known_revisions(self, plan: GkePlan, history: list[HelmRevision]) -> dict[str, v.Values]:
        """Revision name -> its settings, from the last Helm revisions (stable and canary tracks)."""
        known: dict[str, v.Values] = {}
        for entry in history[-HISTORY_SHOWN:]:
            values = self.helm.values(plan.release, namespace=plan.namespace, revision=entry.revision)
            for api in (v.stable_api(values), v.canary_api(values)):
                if api and api.get("revision"):
                    known[api["revision"]] = api
        return known

    # ================================================================== status
    def status(self, plan: GkePlan) -> StatusResult:
        history = self.helm.history(plan.release, namespace=plan.namespace)
        result = StatusResult(environment=plan.environment, target="gke", service=plan.release,
                              exists=bool(history))
        if not history:
            return result
        w = self.workloads(plan)
        deployed = _last_deployed(history)
        current = self.helm.values(plan.release, namespace=plan.namespace,
                                   revision=deployed.revision) if deployed else {}
        traffic = self.traffic(w, current)
        result.traffic = traffic
        latest = history[-1]
        rollout = w.rollout("stable")
        result.conditions = [
            ConditionRow(type="Release", state="SUCCEEDED" if latest.status == "deployed" else latest.status.upper(),
                         message=f"Helm revision {latest.revision}: {latest.description}"),
            ConditionRow(type="Rollout", state="SUCCEEDED" if rollout and rollout.done else "RECONCILING",
                         message=rollout.describe() if rollout else "no Deployment"),
        ]
        result.ready = latest.status == "deployed" and bool(rollout and rollout.done)
        result.url = self.cluster.service_url(plan.namespace, plan.release)
        pods = w.pods()
        percents = {row.revision: row.percent for row in traffic}
        rows: dict[str, RevisionRow] = {}
        for name, api in reversed(list(self._known_revisions(plan, history).items())):
            mine = [p for p in pods if p.revision == name and not p.terminating]
            image = v.image_ref(api)
            rows[name] = RevisionRow(
                name=name, image=image, digest=(api.get("image") or {}).get("digest") or None,
                created=min((p.created for p in mine), default=None),
                ready=(all(p.ready for p in mine) if mine else None), percent=percents.get(name, 0),
                tags=sorted({p.track if p.serving else "candidate" for p in mine}),
                **self._index_of(plan, next((p for p in mine if p.ready), None)),
            )
        result.revisions = sorted(rows.values(), key=lambda r: -r.percent)
        return result

    def _index_of(self, plan: GkePlan, pod: Pod | None) -> dict[str, str | None]:
        """Index version and model id from a ready pod's /version (the RAG service's), when it can be asked."""
        if pod is None:
            return {}
        url = self.cluster.pod_url(plan.namespace, pod.name, pod.ip, plan.smoke.port)
        status, body = ClusterJson(self.cluster)("GET", url.rstrip("/") + "/version", timeout=5.0)
        if status != 200 or not isinstance(body, dict):
            return {}
        return {"index_version": body.get("index_version"), "embedding_model": body.get("embedding_model")}

    # ================================================================== results
    def _result(self, plan: GkePlan, w: Workloads, api: v.Values, strategy: str, *, before: list[TrafficRow],
                created: bool, changed: bool, steps: list[str], outcome: str = "deployed",
                candidate_url: str | None = None) -> DeployResult:
        after_values = self.helm.values(plan.release, namespace=plan.namespace)
        return DeployResult(
            environment=plan.environment, target="gke", service=plan.release, revision=api["revision"],
            image=v.image_ref(api), digest=(api.get("image") or {}).get("digest", ""),
            outcome=outcome,
            created=created, changed=changed, strategy=strategy,
            url=self.cluster.service_url(plan.namespace, plan.release),
            candidate_url=candidate_url, traffic_before=before, traffic_after=self.traffic(w, after_values),
            steps=steps, analysis=list(self.analyzer.results) if self.analyzer else [],
            quality_gate=self.gate_result,
        )


def chart_name(chart: Path) -> str:
    """NAME-VERSION from the chart's Chart.yaml, as Helm records it in the release history."""
    import yaml

    meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
    return f"{meta['name']}-{meta['version']}"


def _last_deployed(history: list[HelmRevision]) -> HelmRevision | None:
    return next((h for h in reversed(history) if h.status == "deployed"), None)

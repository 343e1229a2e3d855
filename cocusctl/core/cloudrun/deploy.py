"""`deploy --target cloudrun`: a no-traffic candidate revision, smoke test, then traffic — reversibly.

The revision name is derived from the image digest and the template settings, so deploying the same thing
twice creates nothing. The traffic that served before the deploy is recorded first; any failure (revision
not ready, smoke test, step health check, timeout, Ctrl-C) puts exactly that traffic back.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from cocusctl.core.canary import CanaryAnalyzer
from cocusctl.core.cloudrun import traffic as tr
from cocusctl.core.cloudrun.api import CloudRunApi, RevisionNotReady
from cocusctl.core.cloudrun.model import RevisionInfo, RevisionSpec, ServiceState, TrafficEntry
from cocusctl.core.errors import CocusError, DeployError, Interrupted, OperationTimeout
from cocusctl.core.images import ImageRef
from cocusctl.core.quality_gate import BASELINE_TAG, QualityGate, QualityGateResult
from cocusctl.core.release.results import DeployResult
from cocusctl.core.release.smoke import smoke_test
from cocusctl.core.reporting import Reporter

if TYPE_CHECKING:
    from cocusctl.core.config import ReleaseSettings, RevisionSettings

LOG_LINES = 10


@dataclass(frozen=True)
class DeployPlan:
    environment: str
    service: str
    image: ImageRef
    spec: RevisionSpec  # revision name filled in by `plan_revision`
    strategy: str = "all"
    canary_steps: tuple[int, ...] = (10, 50, 100)
    step_pause_s: float = 30.0
    ready_timeout_s: float = 300.0
    smoke_paths: tuple[str, ...] = ("/readyz",)
    smoke_query: str | None = None
    candidate_tag: str = "candidate"
    health_interval_s: float = 2.0
    smoke_api_key: str | None = field(default=None, repr=False)  # sent as X-API-Key, never printed

    @classmethod
    def from_settings(
        cls, environment: str, service: str, image: ImageRef, revision: RevisionSettings, release: ReleaseSettings,
        *, strategy: str | None = None, environ: Mapping[str, str] | None = None,
    ) -> DeployPlan:
        """The plan from the environment's one revision model and its release settings."""
        environ = os.environ if environ is None else environ
        spec = RevisionSpec.of("", image.ref, revision)
        key_env = release.smoke_api_key_env
        return cls(
            environment=environment,
            service=service,
            image=image,
            spec=replace(spec, revision=revision_name(service, spec)),
            strategy=strategy or release.strategy,
            canary_steps=tuple(release.canary_steps),
            step_pause_s=release.step_pause_s,
            ready_timeout_s=release.ready_timeout_s,
            smoke_paths=tuple(release.smoke_paths),
            smoke_query=release.smoke_query,
            candidate_tag=release.candidate_tag,
            smoke_api_key=(environ.get(key_env) or None) if key_env else None,
        )


def revision_name(service: str, spec: RevisionSpec) -> str:
    """`SERVICE-<digest 7>-<config 4>`: deterministic from the digest and every template setting."""
    digest = spec.image.split("@sha256:", 1)[1] if "@sha256:" in spec.image else hashlib.sha256(
        spec.image.encode()).hexdigest()
    config = {k: v for k, v in asdict(spec).items() if k not in ("revision", "image")}
    cfg = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    return f"{service[:50]}-{digest[:7]}-{cfg[:4]}"


@contextmanager
def no_interrupts() -> Iterator[None]:
    """Hold Ctrl-C while traffic is being restored (a second Ctrl-C must not leave things half-done)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class Deployer:
    def __init__(
        self, api: CloudRunApi, reporter: Reporter, *, sleep: Callable[[float], None] = time.sleep,
        analyzer: CanaryAnalyzer | None = None, gate: QualityGate | None = None,
        gate_result: QualityGateResult | None = None,
    ) -> None:
        self.api = api
        self.reporter = reporter
        self.sleep = sleep
        self.analyzer = analyzer  # metric-gated canary: candidate vs stable after each step's pause
        self.gate = gate  # eval set on the candidate vs the serving revision, before traffic moves
        self.gate_result = gate_result  # set by the gate; preset to a "skipped" result when it is switched off

    # ------------------------------------------------------------------ entry point
    def deploy(self, plan: DeployPlan) -> DeployResult:
        started = time.monotonic()
        rev = plan.spec.revision
        self.reporter.step(f"Deploying {plan.image.ref} to {plan.service} ({plan.environment}) as {rev}")
        current = self.api.get_service(plan.service)
        if current is None:
            result = self._first_deploy(plan)
        else:
            result = self._next_deploy(plan, current)
        result.duration_s = round(time.monotonic() - started, 3)
        return result

    # ------------------------------------------------------------------ first deploy
    def _first_deploy(self, plan: DeployPlan) -> DeployResult:
        rev = plan.spec.revision
        self.reporter.step(f"Creating service {plan.service} with revision {rev} (first deploy, 100 %)")
        try:
            try:
                state = self.api.create_service(
                    plan.service, plan.spec, [TrafficEntry(rev, 100, plan.candidate_tag)], plan.ready_timeout_s
                )
            except RevisionNotReady as exc:
                raise self._not_ready(plan, str(exc)) from None
            candidate_url = self._tag_url(state, plan.candidate_tag) or state.uri
            self._smoke(plan, candidate_url)
            self._quality_gate(plan, candidate_url, None)
        except (CocusError, KeyboardInterrupt) as exc:
            with no_interrupts():
                self._remove_own_service(plan)
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted("interrupted during the first deploy; the new service was removed") from None
            if isinstance(exc.result, QualityGateResult):  # the service was removed: nothing serves
                exc.result = self._result(plan, state, before=[], created=True, changed=False,
                                          steps=["create", "smoke"], outcome="failed").model_copy(
                    update={"url": "", "candidate_url": None, "traffic_after": []})
            raise
        self.reporter.success(f"{plan.service} serves {rev} at {state.uri}")
        return self._result(plan, state, before=[], created=True, changed=True,
                            steps=["create", "smoke", *(["quality-gate"] if self.gate else []), "100"])

    def _remove_own_service(self, plan: DeployPlan) -> None:
        """Undo a failed first deploy — only if the service is the one this deploy created."""
        try:
            state = self.api.get_service(plan.service)
            if state is None or state.latest_created != plan.spec.revision:
                return
            self.reporter.warn(f"first deploy failed; removing service {plan.service} (it served nothing before)")
            self.api.delete_service(plan.service, plan.ready_timeout_s)
        except CocusError as cleanup:
            self.reporter.warn(f"could not remove the failed service: {cleanup.message}")

    # ------------------------------------------------------------------ later deploys
    def _next_deploy(self, plan: DeployPlan, current: ServiceState) -> DeployResult:
        rev = plan.spec.revision
        before = current.pinned_traffic()
        existing = self.api.get_revision(plan.service, rev)
        if existing is not None and current.serving() == {rev: 100}:
            self.reporter.success(f"{rev} already serves 100 % of {plan.service}; nothing to do")
            return self._result(plan, current, before=before, created=False, changed=False, steps=[],
                                outcome="unchanged")
        if existing is not None and existing.ready is False:
            raise self._not_ready(plan, existing.failure_message(), existing, restored=False)
        base = tr.without_tag(tr.without_tag(before, plan.candidate_tag), BASELINE_TAG)
        baseline = self._baseline(base, rev) if self.gate else None
        steps_done: list[str] = []
        touched = False
        try:
            if existing is None:
                self.reporter.step(f"Creating revision {rev} with no traffic (tag '{plan.candidate_tag}')")
            else:
                self.reporter.step(f"Revision {rev} exists; tagging it '{plan.candidate_tag}' (no new revision)")
            candidate = [*base, TrafficEntry(rev, 0, plan.candidate_tag)]
            if baseline:  # a URL for the serving revision too, so that the gate can ask both (traffic unchanged)
                candidate.append(TrafficEntry(baseline, 0, BASELINE_TAG))
            touched = True
            try:
                state = self.api.update_service(
                    plan.service, spec=plan.spec if existing is None else None, traffic=candidate,
                    timeout=plan.ready_timeout_s,
                )
            except RevisionNotReady as exc:
                raise self._not_ready(plan, str(exc)) from None
            steps_done.append("candidate")
            tag_url = self._tag_url(state, plan.candidate_tag)
            self.reporter.info(f"candidate URL: {tag_url}")
            self._smoke(plan, tag_url)
            steps_done.append("smoke")
            if self.gate is not None:
                self._quality_gate(plan, tag_url, (baseline, self._tag_url(state, BASELINE_TAG)) if baseline else None)
                steps_done.append("quality-gate")
            steps = [100] if plan.strategy == "all" else list(plan.canary_steps)
            for i, percent in enumerate(steps):
                target = tr.shift(base, rev, percent, plan.candidate_tag)
                self.reporter.step(f"Traffic: {percent} % to {rev}")
                try:
                    state = self.api.update_service(plan.service, spec=None, traffic=target,
                                                    timeout=plan.ready_timeout_s)
                except RevisionNotReady as exc:
                    raise DeployError(f"moving traffic to {rev} failed: {exc}") from None
                if state.serving().get(rev, 0) != percent:
                    raise DeployError(f"traffic did not move: {rev} serves {state.serving().get(rev, 0)} % "
                                      f"instead of {percent} %")
                steps_done.append(str(percent))
                if percent < 100 and i < len(steps) - 1:
                    marker = self.analyzer.start() if self.analyzer else None
                    self._hold(plan, tag_url)
                    if self.analyzer is not None:
                        stable = [e.revision for e in base if e.percent and e.revision and e.revision != rev]
                        result = self.analyzer.finish(marker, percent, rev, stable)
                        self.reporter.info(f"canary analysis at {percent} % ({result.source}): {result.verdict}: "
                                           f"{result.summary()}")
        except KeyboardInterrupt:
            restored = self._restore(plan, before) if touched else current
            raise Interrupted(
                f"interrupted during deploy of {rev}; previous traffic restored",
                result=self._result(plan, restored, before=before, created=False, changed=False, steps=steps_done,
                                    outcome="failed"),
            ) from None
        except OperationTimeout as exc:
            restored = self._restore(plan, before)
            raise OperationTimeout(
                f"{exc.message}; previous traffic restored",
                result=self._result(plan, restored, before=before, created=False, changed=False, steps=steps_done,
                                    outcome="failed"),
            ) from None
        except CocusError as exc:
            if touched:
                restored = self._restore(plan, before)
                exc.message = f"{exc.message}\nprevious traffic restored: {self._fmt(before)}"
                exc.args = (exc.message,)
                exc.result = self._result(plan, restored, before=before, created=existing is None, changed=False,
                                          steps=steps_done, outcome="failed")
            raise
        self.reporter.success(f"{rev} serves 100 % of {plan.service} at {state.uri}")
        return self._result(plan, state, before=before, created=existing is None, changed=True,
                            steps=steps_done)

    # ------------------------------------------------------------------ pieces
    @staticmethod
    def _baseline(base: list[TrafficEntry], candidate: str) -> str | None:
        """The revision serving the largest share now (what the candidate has to match); None if nothing serves."""
        serving = [e for e in base if e.percent and e.revision and e.revision != candidate]
        return max(serving, key=lambda e: e.percent).revision if serving else None

    def _quality_gate(self, plan: DeployPlan, candidate_url: str, baseline: tuple[str, str] | None) -> None:
        if self.gate is None:
            return
        against = f"serving revision {baseline[0]}" if baseline else "the thresholds (nothing serves yet)"
        self.reporter.step(f"Quality gate: {len(self.gate.questions)} eval questions on {plan.spec.revision} "
                           f"and {against}")
        try:
            self.gate_result = self.gate.run((plan.spec.revision, candidate_url), baseline)
        except CocusError as exc:
            if isinstance(exc.result, QualityGateResult):
                self.gate_result = exc.result
            raise
        self.reporter.info(f"quality gate passed: {self.gate_result.summary()}")

    def _restore(self, plan: DeployPlan, before: list[TrafficEntry]) -> ServiceState:
        self.reporter.warn(f"restoring the previous traffic: {self._fmt(before)}")
        with no_interrupts():
            try:
                state = self.api.update_service(plan.service, spec=None, traffic=before,
                                                timeout=plan.ready_timeout_s)
            except (CocusError, RevisionNotReady) as exc:
                raise DeployError(f"RESTORING TRAFFIC FAILED: {exc}; set it by hand: "
                                  f"cocusctl split-traffic {self._assignments(before)}") from None
        self.reporter.info(f"traffic restored: {self._fmt(state.pinned_traffic())}")
        return state

    def _not_ready(self, plan: DeployPlan, message: str, info: RevisionInfo | None = None, *,
                   restored: bool = True) -> DeployError:
        rev = plan.spec.revision
        info = info or self.api.get_revision(plan.service, rev)
        logs = self.api.revision_logs(info, LOG_LINES) if info is not None else ""
        text = f"revision {rev} is not ready: {message.strip()}"
        if logs.strip():
            lines = logs.strip().splitlines()[-LOG_LINES:]
            text += "\ncontainer log (last lines):\n" + "\n".join(f"  | {line}" for line in lines)
        hint = None if restored else "fix the image or its configuration, then deploy again"
        return DeployError(text, hint=hint, details=logs or None)

    def _smoke(self, plan: DeployPlan, base_url: str) -> None:
        if not base_url:
            raise DeployError(f"no URL to smoke-test revision {plan.spec.revision}")
        smoke_test(self.api.http, base_url, paths=plan.smoke_paths, query=plan.smoke_query,
                   api_key=plan.smoke_api_key, what=f"revision {plan.spec.revision}", where=base_url,
                   reporter=self.reporter, sleep=self.sleep)

    def _hold(self, plan: DeployPlan, tag_url: str) -> None:
        """Pause between canary steps, checking the candidate's health all along."""
        deadline = time.monotonic() + plan.step_pause_s
        self.reporter.info(f"holding {plan.step_pause_s:g}s with health checks")
        while True:
            info = self.api.get_revision(plan.service, plan.spec.revision)
            if info is None or info.ready is False:
                raise DeployError(f"health check failed: revision {plan.spec.revision} is no longer ready"
                                  + (f": {info.failure_message()}" if info else ""))
            for path in plan.smoke_paths:
                status = self.api.http("GET", tag_url.rstrip("/") + path)
                if not 200 <= status < 300:
                    raise DeployError(f"health check failed: GET {path} on the candidate gave "
                                      f"{f'HTTP {status}' if status else 'no answer'}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.sleep(min(plan.health_interval_s, remaining))

    @staticmethod
    def _tag_url(state: ServiceState, tag: str) -> str:
        return next((s.url for s in state.statuses if s.tag == tag and s.url), "")

    @staticmethod
    def _fmt(entries: list[TrafficEntry]) -> str:
        return ", ".join(f"{e.label()}={e.percent}%" + (f" (tag {e.tag})" if e.tag else "") for e in entries)

    @staticmethod
    def _assignments(entries: list[TrafficEntry]) -> str:
        return " ".join(f"{e.label()}={e.percent}" for e in entries if e.percent)

    def _result(self, plan: DeployPlan, state: ServiceState, *, before: list[TrafficEntry], created: bool,
                changed: bool, steps: list[str], outcome: str = "deployed") -> DeployResult:
        return DeployResult(
            outcome=outcome,
            environment=plan.environment,
            service=plan.service,
            revision=plan.spec.revision,
            image=plan.image.ref,
            digest=plan.image.digest,
            created=created,
            changed=changed,
            strategy=plan.strategy,
            url=state.uri,
            candidate_url=self._tag_url(state, plan.candidate_tag) or None,
            traffic_before=tr.rows(before),
            traffic_after=tr.status_rows(state),
            steps=steps,
            analysis=list(self.analyzer.results) if self.analyzer else [],
            quality_gate=self.gate_result,
        )


__all__ = ["Deployer", "DeployPlan", "revision_name"]

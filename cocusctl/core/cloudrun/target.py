"""Cloud Run as a release target: the `ReleaseTarget` interface over the Cloud Run lifecycle."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cocusctl.core.cloudrun import operations
from cocusctl.core.cloudrun.api import CloudRunApi
from cocusctl.core.cloudrun.canary import canary_analyzer
from cocusctl.core.cloudrun.deploy import Deployer, DeployPlan
from cocusctl.core.config import Environment
from cocusctl.core.errors import NotAvailableError, UsageError
from cocusctl.core.images import ImageRef
from cocusctl.core.observability.prometheus import PrometheusQuery
from cocusctl.core.quality_gate import GateRequest, ServiceQueryClient
from cocusctl.core.release.results import DeployResult, StatusResult, TrafficResult
from cocusctl.core.release.target import RunSettings, ServingRevision
from cocusctl.core.reporting import Reporter


@dataclass
class CloudRunTarget:
    """Implements `ReleaseTarget` for an environment whose target is Cloud Run (real or the emulator)."""

    environment: Environment
    api: CloudRunApi
    reporter: Reporter
    sleep: Callable[[float], None] = time.sleep
    environ: Mapping[str, str] | None = field(default=None, repr=False)  # for the smoke key; None = os.environ
    prometheus: Callable[[str], PrometheusQuery] | None = None  # canary analysis by Prometheus, when configured

    @property
    def service(self) -> str:
        return self.environment.service_name

    def plan(self, image: ImageRef, *, strategy: str | None = None) -> DeployPlan:
        settings = self.environment.settings
        return DeployPlan.from_settings(self.environment.name, self.service, image, settings.revision,
                                        settings.release, strategy=strategy, environ=self.environ)

    def deploy(self, image: ImageRef, *, strategy: str | None = None, gate: GateRequest | None = None) -> DeployResult:
        plan = self.plan(image, strategy=strategy)
        analyzer = None
        if plan.strategy == "canary":  # metric-gated steps: Prometheus when configured, else the router's counters
            analyzer = canary_analyzer(self.environment.settings.analysis, self.api,
                                       namespace=self.environment.settings.project, service=self.service,
                                       prometheus=self._prometheus, reporter=self.reporter)
        return Deployer(self.api, self.reporter, sleep=self.sleep, analyzer=analyzer,
                        gate=gate.gate_for(ServiceQueryClient(self.api.http_json, plan.smoke_api_key)) if gate else None,
                        gate_result=gate.skipped if gate else None).deploy(plan)

    def _prometheus(self, url: str) -> PrometheusQuery:
        if self.prometheus is None:
            raise NotAvailableError("no Prometheus client for canary analysis")
        return self.prometheus(url)

    def status(self) -> StatusResult:
        result = operations.status(self.api, self.environment.name, self.service)
        if self.api.is_emulator:  # the local monitoring stack watches the emulator's revisions
            from cocusctl.core.observability.stack import where

            result.monitoring = where()
        return result

    def split_traffic(self, assignments: list[str], *, to_latest: bool = False) -> TrafficResult:
        return operations.split_traffic(self.api, self.reporter, self.environment.name, self.service, assignments,
                                        to_latest=to_latest)

    def rollback(self, to: str | None = None) -> TrafficResult:
        return operations.rollback(self.api, self.reporter, self.environment.name, self.service, to)

    def serving(self, revision: str | None = None) -> ServingRevision:
        name = self.environment.name
        state = operations.service_or_fail(self.api, self.service, name)
        if revision is None:
            serving = state.serving()
            full = [rev for rev, percent in serving.items() if percent == 100]
            if not full:
                raise UsageError(f"no single revision serves 100 % in {name} ({serving}); pass --revision")
            revision = full[0]
        info = self.api.get_revision(self.service, revision)
        if info is None:
            raise UsageError(f"revision {revision!r} does not exist in {name}")
        routes_ok = all(c.state != "FAILED" for c in state.conditions if c.type == "RoutesReady")
        if info.ready is not True or not routes_ok:
            raise UsageError(f"{name} is not healthy (revision {revision} ready={info.ready}, routes "
                             f"{'ready' if routes_ok else 'failed'}); refusing to promote")
        if not info.digest:
            raise UsageError(f"revision {revision} in {name} runs {info.image!r}, which is not pinned by digest")
        settings = RunSettings(env=info.env, secrets=info.secrets, memory=info.memory, cpu=info.cpu,
                               min_instances=info.min_instances, max_instances=info.max_instances,
                               concurrency=info.concurrency)
        return ServingRevision(revision=revision, image=ImageRef.pinned(info.image), settings=settings)

    def planned_settings(self, image: ImageRef) -> RunSettings:
        spec = self.plan(image).spec
        return RunSettings(env=spec.env, secrets=spec.secrets, memory=spec.memory, cpu=spec.cpu,
                           min_instances=spec.min_instances, max_instances=spec.max_instances,
                           concurrency=spec.concurrency)

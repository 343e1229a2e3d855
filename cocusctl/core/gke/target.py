"""GKE as a release target: the `ReleaseTarget` interface over the Helm release of the cocus-mvp chart.

Values come from the environment's rendered chart values (`core.gke.chart`); a deploy adds the image (by
digest), the revision name and — on the local cluster — the secret values from the local secret store.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cocusctl.core.canary import CanaryAnalyzer
from cocusctl.core.config import Environment, LoadedConfig
from cocusctl.core.errors import NotAvailableError, UsageError
from cocusctl.core.gke import values as v
from cocusctl.core.gke.api import ClusterApi, HelmApi, SecretReader
from cocusctl.core.gke.chart import base_values, chart_dir
from cocusctl.core.gke.release import GkePlan, GkeRelease
from cocusctl.core.gke.workloads import ClusterJson, Smoke
from cocusctl.core.images import ImageRef
from cocusctl.core.observability.prometheus import PrometheusCanaryMetrics, PrometheusQuery
from cocusctl.core.quality_gate import GateRequest, ServiceQueryClient
from cocusctl.core.release.results import DeployResult, StatusResult, TrafficResult
from cocusctl.core.release.target import RunSettings, ServingRevision
from cocusctl.core.reporting import Reporter


@dataclass
class GkeTarget:
    """Implements `ReleaseTarget` for an environment whose target is GKE (or any cluster its kubeconfig names)."""

    loaded: LoadedConfig
    environment: Environment
    helm: HelmApi
    cluster: ClusterApi
    reporter: Reporter
    read_secret: SecretReader | None = None
    prometheus: Callable[[str], PrometheusQuery] | None = None  # canary analysis by Prometheus, when configured
    sleep: Callable[[float], None] = time.sleep
    environ: Mapping[str, str] | None = field(default=None, repr=False)  # for the smoke key; None = os.environ
    chart: Path = field(default_factory=chart_dir)

    @property
    def service(self) -> str:
        return self.environment.service_name

    def plan(self) -> GkePlan:
        release = self.environment.settings.release
        environ = os.environ if self.environ is None else self.environ
        key = environ.get(release.smoke_api_key_env) if release.smoke_api_key_env else None
        base = base_values(self.loaded, self.environment)
        base.pop("api", None)
        return GkePlan(
            environment=self.environment.name, release=self.service,
            namespace=self.environment.settings.gke.namespace, chart=self.chart, base_values=base,
            strategy=release.strategy, canary_steps=tuple(release.canary_steps), step_pause_s=release.step_pause_s,
            ready_timeout_s=release.ready_timeout_s,
            smoke=Smoke(paths=tuple(release.smoke_paths), query=release.smoke_query, api_key=key or None,
                        port=self.environment.settings.revision.container_port),
        )

    def api_values(self, image: ImageRef) -> v.Values:
        """The `api` values of a revision of `image`: the rendered ones, the digest, secrets, its name."""
        api = base_values(self.loaded, self.environment)["api"]
        api["image"] = {**api["image"], "repository": image.name, "digest": image.digest}
        if self.environment.settings.gke.is_local:
            api["secretEnv"] = self._local_secrets()
        return v.with_revision(self.service, api)

    def _local_secrets(self) -> dict[str, str]:
        if self.read_secret is None:
            raise NotAvailableError("no local secret store to read the revision's secrets from")
        from cocusctl.core.local_secrets import SecretNotFound

        values: dict[str, str] = {}
        for env, ref in sorted(self.environment.settings.revision.secrets.items()):
            try:
                values[env] = self.read_secret(ref.secret, ref.version).decode("utf-8")
            except SecretNotFound as exc:
                raise UsageError(f"{exc} in the local secret store (environment {self.environment.name}, {env}); "
                                 "nothing was deployed",
                                 hint=f"cocusctl secrets set --env {self.environment.name} {ref.secret}") from None
        return values

    def _release(self, *, analyzer: CanaryAnalyzer | None = None) -> GkeRelease:
        return GkeRelease(self.helm, self.cluster, self.reporter, self.sleep, analyzer=analyzer)

    def _analyzer(self) -> CanaryAnalyzer | None:
        """The metric gate between canary steps: Prometheus when configured (a cluster has no router counters)."""
        settings = self.environment.settings.analysis
        if not settings.enabled:
            return None
        if not settings.prometheus_url or self.prometheus is None:
            self.reporter.warn("canary analysis off: no analysis.prometheus_url for this environment "
                               "(health checks only)")
            return None
        metrics = PrometheusCanaryMetrics(self.prometheus(settings.prometheus_url),
                                          namespace=self.environment.settings.gke.namespace, service=self.service)
        return CanaryAnalyzer(metrics, settings)

    def deploy(self, image: ImageRef, *, strategy: str | None = None, gate: GateRequest | None = None) -> DeployResult:
        plan = self.plan()
        strategy = strategy or plan.strategy
        analyzer = self._analyzer() if strategy == "canary" else None
        release = self._release(analyzer=analyzer)
        if gate is not None:  # the candidate's Service and the release's, over the cluster's HTTP
            release.gate = gate.gate_for(ServiceQueryClient(ClusterJson(self.cluster), plan.smoke.api_key))
            release.gate_result = gate.skipped
        return release.deploy(plan, self.api_values(image), strategy=strategy)

    def status(self) -> StatusResult:
        return self._release().status(self.plan())

    def split_traffic(self, assignments: list[str], *, to_latest: bool = False) -> TrafficResult:
        return self._release().split_traffic(self.plan(), assignments, to_latest=to_latest)

    def rollback(self, to: str | None = None) -> TrafficResult:
        return self._release().rollback(self.plan(), to)

    def serving(self, revision: str | None = None) -> ServingRevision:
        """The stable revision (the one serving 100 %), or `revision`: ready, and pinned by digest."""
        name = self.environment.name
        status = self.status()
        if not status.exists:
            raise UsageError(f"{self.service} is not deployed in {name}", hint=f"cocusctl deploy --env {name}")
        if revision is None:
            full = [row.revision for row in status.traffic if row.percent == 100]
            if not full:
                shares = {row.revision: row.percent for row in status.traffic}
                raise UsageError(f"no single revision serves 100 % in {name} ({shares}); pass --revision")
            revision = full[0]
        row = next((r for r in status.revisions if r.name == revision), None)
        if row is None:
            raise UsageError(f"revision {revision!r} does not exist in {name}")
        if row.ready is not True or not status.ready:
            raise UsageError(f"{name} is not healthy (revision {revision} ready={row.ready}); refusing to promote")
        if not row.digest:
            raise UsageError(f"revision {revision} in {name} runs {row.image!r}, which is not pinned by digest")
        api = self._release().revision_values(self.plan(), revision)
        return ServingRevision(revision=revision, image=ImageRef.pinned(row.image), settings=_run_settings(api))

    def planned_settings(self, image: ImageRef) -> RunSettings:
        return _run_settings(self.api_values(image) | {"secretEnv": {}})


def _run_settings(api: v.Values) -> RunSettings:
    """What a revision runs with, from its chart values (GKE has no per-pod request concurrency)."""
    limits = (api.get("resources") or {}).get("limits") or {}
    secrets = {env: f"{ref['secret']}:{ref['version']}" for env, ref in sorted((api.get("secretManager") or {}).items())}
    return RunSettings(env={k: str(val) for k, val in sorted((api.get("env") or {}).items())}, secrets=secrets,
                       memory=str(limits.get("memory", "")), cpu=str(limits.get("cpu", "")))

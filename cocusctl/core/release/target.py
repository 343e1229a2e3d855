"""The one interface every deploy target implements, and the factory that picks it by `environment.target`.

`deploy`, `split-traffic`, `rollback`, `status` and `promote` never check the target themselves: they ask
`release_target()` for the environment's target and call it. Cloud Run implements it in
`core.cloudrun.target`; a new target (GKE) adds its class and one branch in `release_target`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cocusctl.core.errors import NotAvailableError, UsageError

if TYPE_CHECKING:
    from cocusctl.core.cloudrun.api import CloudRunApi
    from cocusctl.core.config import Environment, LoadedConfig, RegistryConfig
    from cocusctl.core.gke.api import ClusterApi, HelmApi, SecretReader
    from cocusctl.core.images import ImageRef, RegistryApi
    from cocusctl.core.infra import TerraformRunner
    from cocusctl.core.observability.prometheus import PrometheusQuery
    from cocusctl.core.quality_gate import GateRequest
    from cocusctl.core.release.results import DeployResult, StatusResult, TrafficResult
    from cocusctl.core.reporting import Reporter


@dataclass(frozen=True)
class RunSettings:
    """What a revision runs with, as a target reports it: compared by `promote` between environments."""

    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # ENV -> "secret:version"
    memory: str = ""
    cpu: str = ""
    min_instances: int = 0
    max_instances: int = 0
    concurrency: int = 0


@dataclass(frozen=True)
class ServingRevision:
    """The healthy revision that serves 100 % (or the one named), pinned by digest: what promote copies."""

    revision: str
    image: ImageRef
    settings: RunSettings


class ReleaseTarget(Protocol):
    """One environment's deploy target. Every method reports through the Reporter it was built with."""

    @property
    def environment(self) -> Environment: ...

    @property
    def service(self) -> str: ...

    def deploy(self, image: ImageRef, *, strategy: str | None = None, gate: GateRequest | None = None) -> DeployResult:
        """A new no-traffic revision, smoke test, quality gate (`gate`, with the target's own transport to the
        candidate and the serving revision), then traffic; any failure restores what served before."""
        ...

    def status(self) -> StatusResult: ...

    def split_traffic(self, assignments: list[str], *, to_latest: bool = False) -> TrafficResult: ...

    def rollback(self, to: str | None = None) -> TrafficResult: ...

    def serving(self, revision: str | None = None) -> ServingRevision:
        """The revision serving 100 % (or `revision`); UsageError unless it is ready and pinned by digest."""
        ...

    def planned_settings(self, image: ImageRef) -> RunSettings:
        """What a revision of `image` deployed here now would run with."""
        ...


class AdapterFactory(Protocol):
    """The adapters the release needs; `cocusctl.adapters.Adapters` is the real one."""

    def cloudrun(self, environment: Environment) -> CloudRunApi: ...

    def registry(self, registry: RegistryConfig) -> RegistryApi: ...

    def terraform(self, workdir: Path, data_dir: Path | None = None) -> TerraformRunner: ...

    def prometheus(self, url: str) -> PrometheusQuery: ...

    loaded: LoadedConfig

    def helm(self, environment: Environment) -> HelmApi: ...

    def cluster(self, environment: Environment) -> ClusterApi: ...

    def local_secret(self, environment: Environment) -> SecretReader: ...


def check_target(environment: Environment, requested: str | None) -> None:
    """`--target` may only confirm the environment's target, never override it."""
    if requested is not None and requested != environment.target:
        raise UsageError(f"--target {requested} does not match environment {environment.name!r}, "
                         f"which targets {environment.target}")


def release_target(environment: Environment, adapters: AdapterFactory, reporter: Reporter) -> ReleaseTarget:
    """The environment's target, ready to act."""
    if environment.target == "cloudrun":
        from cocusctl.core.cloudrun.target import CloudRunTarget

        return CloudRunTarget(environment, adapters.cloudrun(environment), reporter, prometheus=adapters.prometheus)
    if environment.target == "gke":
        from cocusctl.core.gke.target import GkeTarget

        return GkeTarget(adapters.loaded, environment, adapters.helm(environment), adapters.cluster(environment),
                         reporter, read_secret=adapters.local_secret(environment) if environment.settings.runs_locally
                         else None, prometheus=adapters.prometheus)
    raise NotAvailableError(f"the release commands are not available for target {environment.target} yet")

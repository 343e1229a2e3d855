"""Adapters: one per external system, each behind a small Protocol that the core depends on.

`Adapters` builds them on demand (so an SDK is imported only by the command that needs it) and is handed
to commands through the AppContext; tests build core objects with in-memory or local real adapters instead.
Each factory returns the core's Protocol type, so mypy checks that every adapter satisfies it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from cocusctl.core.build import Engine
    from cocusctl.core.cloudrun.api import CloudRunApi
    from cocusctl.core.config import Environment, LoadedConfig, RegistryConfig, ScanPolicy
    from cocusctl.core.gke.api import ClusterApi, HelmApi, SecretReader
    from cocusctl.core.image_scan import Scanner
    from cocusctl.core.images import RegistryApi
    from cocusctl.core.infra import TerraformRunner
    from cocusctl.core.observability.prometheus import PrometheusQuery
    from cocusctl.core.os_updates import SecuritySuite
    from cocusctl.core.secrets import SecretStore

T = TypeVar("T")


class Adapters:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self._cache: dict[str, Any] = {}

    def _once(self, key: str, factory: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]

    # --- docker engine ---------------------------------------------------------------------------
    def docker(self) -> Engine:
        from cocusctl.adapters.docker_engine import DockerEngine

        return self._once("docker", DockerEngine.from_env)

    # --- OCI registry (Artifact Registry or any Distribution v2 registry) ------------------------
    def registry(self, registry: RegistryConfig) -> RegistryApi:
        from cocusctl.adapters.registry import RegistryClient

        return self._once(f"registry:{registry.url}", lambda: RegistryClient(registry))

    # --- trivy -----------------------------------------------------------------------------------
    def trivy(self) -> Scanner:
        from cocusctl.adapters.trivy import Trivy

        return self._once("trivy", Trivy.locate)

    # --- Debian security suites (pending OS updates in images) ---------------------------------
    def security_suite(self, policy: ScanPolicy) -> SecuritySuite:
        from cocusctl.adapters.debian_security import DebianSecuritySuite

        return self._once(f"debian:{policy.debian_security_mirror}",
                          lambda: DebianSecuritySuite(policy.debian_security_mirror))

    # --- terraform -------------------------------------------------------------------------------
    def terraform(self, workdir: Path, data_dir: Path | None = None) -> TerraformRunner:
        """A Terraform runner for one root module (`workdir`) with its own data dir (not cached)."""
        from cocusctl.adapters.terraform import Terraform

        return Terraform(workdir, data_dir=data_dir)

    # --- Cloud Run Admin API ---------------------------------------------------------------------
    def cloudrun(self, environment: Environment) -> CloudRunApi:
        from cocusctl.adapters.cloudrun import CloudRun

        return self._once(f"cloudrun:{environment.name}", lambda: CloudRun.for_environment(environment))

    # --- Secret Manager (or, for an environment on this machine, the local secret store) -----------
    def secrets(self, environment: Environment) -> SecretStore:
        settings = environment.settings
        if settings.runs_locally:
            from cocusctl.core.local_secrets import LocalSecretStore, ProjectSecrets, default_path

            return ProjectSecrets(LocalSecretStore(default_path()), settings.project)
        from cocusctl.adapters.secret_manager import SecretManager

        return SecretManager(settings.project, endpoint=settings.infra.secret_manager_endpoint)

    # --- GKE: helm and the cluster, through the environment's kubeconfig ---------------------------
    def helm(self, environment: Environment) -> HelmApi:
        from cocusctl.adapters.helm import Helm
        from cocusctl.core.gke.kubeconfig import kubeconfig_for

        path, context = kubeconfig_for(environment)
        timeout = environment.settings.release.ready_timeout_s
        return self._once(f"helm:{environment.name}",
                          lambda: Helm.locate(kubeconfig=path, context=context, timeout_s=timeout))

    def cluster(self, environment: Environment) -> ClusterApi:
        from cocusctl.adapters.kubernetes_workloads import KubernetesWorkloads
        from cocusctl.core.gke.kubeconfig import default_kubeconfig, kubeconfig_for

        path, context = kubeconfig_for(environment)
        return self._once(f"cluster:{environment.name}",
                          lambda: KubernetesWorkloads.from_kubeconfig(path or default_kubeconfig(), context))

    def local_secret(self, environment: Environment) -> SecretReader:
        """Reads a pinned secret version of the environment's project from the local secret store."""
        from cocusctl.core.local_secrets import LocalSecretStore, default_path

        store = LocalSecretStore(default_path())
        project = environment.settings.project
        return lambda secret, version: store.access(project, secret, version)

    # --- Prometheus HTTP API ---------------------------------------------------------------------
    def prometheus(self, url: str) -> PrometheusQuery:
        from cocusctl.adapters.prometheus import Prometheus

        return self._once(f"prometheus:{url}", lambda: Prometheus(url))

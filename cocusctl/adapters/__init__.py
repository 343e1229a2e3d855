"""Adapters: one per external system, each behind a small Protocol that the core depends on.

`Adapters` builds them on demand (so an SDK is imported only by the command that needs it) and is handed
to commands through the AppContext; tests build core objects with in-memory or local real adapters instead.
Each factory method below belongs to the adapter module it imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cocusctl.core.config import Environment, LoadedConfig, RegistryConfig, ScanPolicy
    from cocusctl.core.os_updates import SecuritySuite


class Adapters:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self._cache: dict[str, Any] = {}

    def _once(self, key: str, factory: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]

    # --- docker engine ---------------------------------------------------------------------------
    def docker(self) -> Any:
        from cocusctl.adapters.docker_engine import DockerEngine

        return self._once("docker", DockerEngine.from_env)

    # --- OCI registry (Artifact Registry or any Distribution v2 registry) ------------------------
    def registry(self, registry: RegistryConfig) -> Any:
        from cocusctl.adapters.registry import RegistryClient

        return self._once(f"registry:{registry.url}", lambda: RegistryClient(registry))

    # --- trivy -----------------------------------------------------------------------------------
    def trivy(self) -> Any:
        from cocusctl.adapters.trivy import Trivy

        return self._once("trivy", Trivy.locate)

    # --- Debian security suites (pending OS updates in images) ---------------------------------
    def security_suite(self, policy: ScanPolicy) -> SecuritySuite:
        from cocusctl.adapters.debian_security import DebianSecuritySuite

        return self._once(f"debian:{policy.debian_security_mirror}",
                          lambda: DebianSecuritySuite(policy.debian_security_mirror))

    # --- terraform -------------------------------------------------------------------------------
    def terraform(self, workdir: Path, data_dir: Path | None = None) -> Any:
        """A Terraform runner for one root module (`workdir`) with its own data dir (not cached)."""
        from cocusctl.adapters.terraform import Terraform

        return Terraform(workdir, data_dir=data_dir)

    # --- Cloud Run Admin API ---------------------------------------------------------------------
    def cloudrun(self, environment: Environment) -> Any:
        from cocusctl.adapters.cloudrun import CloudRun

        return self._once(f"cloudrun:{environment.name}", lambda: CloudRun.for_environment(environment))

    # --- Prometheus HTTP API ---------------------------------------------------------------------
    def prometheus(self, url: str) -> Any:
        from cocusctl.adapters.prometheus import Prometheus

        return self._once(f"prometheus:{url}", lambda: Prometheus(url))

"""The seams between the GKE lifecycle and its two systems: Helm (releases) and the cluster (workloads)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from cocusctl.core.gke.model import HelmRevision, HttpReply, Json


class HelmApi(Protocol):
    def version(self) -> str: ...

    def upgrade_install(self, release: str, chart: Path, values: Mapping[str, Any], *, namespace: str,
                        description: str, timeout_s: float) -> HelmRevision:
        """`helm upgrade --install` (values on stdin, no --wait); the new revision."""
        ...

    def history(self, release: str, *, namespace: str) -> list[HelmRevision]:
        """Stored revisions, oldest first; [] when the release does not exist."""
        ...

    def values(self, release: str, *, namespace: str, revision: int | None = None) -> dict[str, Any]: ...

    def rollback(self, release: str, revision: int, *, namespace: str, timeout_s: float) -> None: ...

    def uninstall(self, release: str, *, namespace: str, timeout_s: float) -> None: ...

    def template(self, chart: Path, values: Mapping[str, Any], *, release: str, namespace: str,
                 kube_version: str | None = None) -> str: ...


class ClusterApi(Protocol):
    """Reads workloads and talks HTTP to a Service or a pod the way this cluster allows from outside."""

    def deployment(self, namespace: str, name: str) -> Json | None: ...

    def pods(self, namespace: str, selector: Mapping[str, str]) -> list[Json]: ...

    def service(self, namespace: str, name: str) -> Json | None: ...

    def pod_logs(self, namespace: str, pod: str, *, tail: int) -> str: ...

    def label_pod(self, namespace: str, pod: str, labels: Mapping[str, str]) -> None:
        """Add or change labels of a running pod (nothing restarts); a pod already gone is no error."""
        ...

    def service_url(self, namespace: str, service: str) -> str:
        """Where the Service answers from this machine (a local port, or the API server's proxy)."""
        ...

    def http(self, method: str, url: str, *, json_body: object | None = None,
             headers: Mapping[str, str] | None = None, timeout: float = 10.0) -> HttpReply: ...

    def pod_url(self, namespace: str, pod: str, ip: str, port: int) -> str:
        """Where one pod answers from this machine (its IP on the local cluster, else the API server's proxy)."""
        ...


class SecretReader(Protocol):
    """A pinned secret version's value (the local secret store, for a cluster on this machine)."""

    def __call__(self, secret: str, version: str) -> bytes: ...

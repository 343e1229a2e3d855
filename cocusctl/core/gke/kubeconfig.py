"""Which cluster an environment's GKE target talks to: its kubeconfig file and context."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cocusctl.core.errors import NotAvailableError

if TYPE_CHECKING:
    from cocusctl.core.config import Environment

LOCAL = "local"


def kubeconfig_for(environment: Environment) -> tuple[Path | None, str | None]:
    """(kubeconfig, context): `local` is the cluster `cocusctl cluster start` runs; unset means kubectl's
    default ($KUBECONFIG, else ~/.kube/config) and its current context."""
    gke = environment.settings.gke
    if gke.kubeconfig == LOCAL:
        from cocusctl.core.cluster import control_plane

        path = control_plane.default_home() / "kubeconfig"
        if not path.is_file():
            raise NotAvailableError(f"the local cluster of environment {environment.name!r} has no kubeconfig "
                                    f"({path})", hint="cocusctl cluster start")
        return path, gke.context
    if gke.kubeconfig:
        path = Path(gke.kubeconfig).expanduser()
        if not path.is_file():
            raise NotAvailableError(f"kubeconfig {path} of environment {environment.name!r} does not exist",
                                    hint="check gke.kubeconfig; for GKE: gcloud container clusters get-credentials")
        return path, gke.context
    return None, gke.context


def default_kubeconfig() -> Path:
    """kubectl's default: the first file of $KUBECONFIG, else ~/.kube/config."""
    explicit = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(explicit).expanduser() if explicit else Path.home() / ".kube" / "config"

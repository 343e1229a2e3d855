"""The cocus-mvp chart's values for an environment: rendered from templates/helm/values.yaml.j2 with the same
context as the Terraform inputs, so `render` writes them, `render --check` compares them and `deploy` installs
exactly them (plus the image digest and the revision name).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cocusctl.core.assets import asset

if TYPE_CHECKING:
    from cocusctl.core.config import Environment, LoadedConfig

HELM_VALUES_FILE = "helm-values.yaml"
HELM_VALUES_TEMPLATE = "helm/values.yaml.j2"


def chart_dir() -> Path:
    return asset("helm/cocus-mvp")


def helm_inputs(loaded: LoadedConfig, environment: Environment) -> dict[str, Any]:
    """What the values template places, derived here so the template only places it."""
    settings = environment.settings
    revision, gke = settings.revision, settings.gke
    replicas = max(revision.min_instances, 1)
    sa = settings.infra.service_account
    ingress: dict[str, Any] = {"enabled": False}
    if gke.ingress is not None:
        ingress = {"enabled": True, "className": gke.ingress.class_name, "hosts": gke.ingress.hosts,
                   "staticIPName": gke.ingress.static_ip_name or "",
                   "tls": {"mode": gke.ingress.tls, "issuer": gke.ingress.issuer or "",
                           "secretName": gke.ingress.secret_name or ""}}
    gateway: dict[str, Any] = {"enabled": False}
    if gke.gateway is not None:
        gateway = {"enabled": True, "name": gke.gateway.name, "namespace": gke.gateway.namespace or "",
                   "hostnames": gke.gateway.hostnames}
    return {
        "image_repository": f"{environment.registry.url}/{loaded.config.service.image}",
        "replicas": replicas,
        "autoscaling": revision.max_instances > replicas,
        "max_replicas": max(revision.max_instances, replicas),
        "resources": {"requests": {"cpu": gke.cpu_request, "memory": revision.memory},
                      "limits": {"cpu": revision.cpu, "memory": revision.memory}},
        "secret_manager": {env: {"secret": ref.secret, "version": ref.version}
                           for env, ref in sorted(revision.secrets.items())},
        # On the local cluster the values come from the local secret store at deploy time, into a Secret.
        "secrets_provider": "kubernetes" if gke.is_local else "secret-manager",
        "gcp_service_account": f"{sa}@{settings.project}.iam.gserviceaccount.com" if sa and not gke.is_local else "",
        # Pods of the local cluster share the host's network, each on its own loopback address.
        "listen_on_pod_ip": gke.is_local,
        "metrics_port": gke.metrics_port,
        "ingress": ingress,
        "gateway": gateway,
        "grafana": bool(gke.grafana_admin_secret),
    }


def base_values(loaded: LoadedConfig, environment: Environment) -> dict[str, Any]:
    """The environment's rendered values as data (the image without its digest)."""
    import yaml

    from cocusctl.core.render import render_context, render_templates

    context = render_context(loaded, environment)
    (_, text), = render_templates(None, {HELM_VALUES_FILE: HELM_VALUES_TEMPLATE}, context).values()
    return dict(yaml.safe_load(text))

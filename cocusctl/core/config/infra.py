"""Infrastructure (Terraform) settings: rendered into the root module's variables by `cocusctl render`.

See terraform/README.md for which fields Terraform owns and which the release owns.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from cocusctl.core.config.base import NAME, SA_ID, StrictModel
from cocusctl.core.net import is_loopback

_SECRET_ID = r"^[A-Za-z0-9_-]{1,255}$"
_PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
_IAM_MEMBER = re.compile(r"^(user|group|serviceAccount|domain|principal|principalSet):\S+$")


def _network(value: str, field_name: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value)
    except ValueError as exc:
        raise ValueError(f"{field_name}: not an IPv4 CIDR block: {value!r}") from exc


class TerraformState(StrictModel):
    """Where Terraform keeps this environment's state: a GCS bucket, or a local file (tests, local runs)."""

    backend: Literal["gcs", "local"] = Field("gcs", description="must match the root module's backend block")
    bucket: str | None = Field(
        None, pattern=r"^[a-z0-9][-a-z0-9_.]{1,220}[a-z0-9]$", description="GCS bucket (backend gcs)"
    )
    prefix: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", description="object prefix; default <project>/<env>"
    )
    path: Path | None = Field(
        None, description="state file (backend local); default <output_dir>/terraform/<env>/terraform.tfstate"
    )

    @model_validator(mode="after")
    def _backend_fields(self) -> TerraformState:
        if self.backend == "gcs" and not self.bucket:
            raise ValueError("backend 'gcs' needs a bucket")
        if self.backend == "gcs" and self.path is not None:
            raise ValueError("path is only for backend 'local'")
        if self.backend == "local" and (self.bucket or self.prefix):
            raise ValueError("bucket/prefix are only for backend 'gcs'")
        return self


class ArtifactRegistrySettings(StrictModel):
    """The Artifact Registry Docker repository and its cleanup policies."""

    repository: str | None = Field(
        None, pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", description="default: from the registry URL"
    )
    keep_recent: int = Field(10, ge=1, le=1000, description="cleanup: always keep this many recent versions")
    delete_untagged_after_days: int = Field(7, ge=1, le=3650, description="cleanup: delete untagged after")


class NetworkSettings(StrictModel):
    """VPC and subnet; the secondary ranges and control-plane block are used by GKE."""

    name: str = Field("cocus-vpc", pattern=NAME)
    subnet_cidr: str = Field("10.10.0.0/20", description="primary subnet range")
    pods_cidr: str = Field("10.20.0.0/16", description="GKE pods secondary range")
    services_cidr: str = Field("10.30.0.0/20", description="GKE services secondary range")
    master_cidr: str = Field("172.16.0.0/28", description="GKE control-plane /28 (private cluster)")
    vpc_egress: bool = Field(False, description="Cloud Run: direct VPC egress to private ranges")

    @model_validator(mode="after")
    def _ranges(self) -> NetworkSettings:
        nets = {name: _network(getattr(self, name), name) for name in
                ("subnet_cidr", "pods_cidr", "services_cidr", "master_cidr")}
        if nets["master_cidr"].prefixlen != 28:
            raise ValueError(f"master_cidr must be a /28, got {self.master_cidr}")
        names = list(nets)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if nets[a].overlaps(nets[b]):
                    raise ValueError(f"{a} ({nets[a]}) overlaps {b} ({nets[b]})")
        return self


class AuthorizedNetwork(StrictModel):
    cidr: str = Field(description="CIDR allowed to reach the GKE control plane")
    name: str = Field(min_length=1, max_length=64)

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return str(_network(value, "cidr"))


class GkeInfraSettings(StrictModel):
    """GKE cluster shape (Terraform-owned). Nodes always run as a dedicated service account."""

    autopilot: bool = Field(True, description="Autopilot (true) or Standard with a managed node pool")
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    machine_type: str = Field("e2-standard-4", pattern=r"^[a-z0-9]+-[a-z0-9-]+$", description="Standard only")
    min_nodes: int = Field(1, ge=0, le=100, description="per zone; Standard only")
    max_nodes: int = Field(3, ge=1, le=100, description="per zone; Standard only")
    node_service_account: str = Field("cocus-gke-nodes", pattern=SA_ID, description="nodes' service account")
    private_endpoint: bool = Field(False, description="control plane reachable only on its private IP")
    master_authorized_networks: list[AuthorizedNetwork] = Field(default_factory=list)

    @model_validator(mode="after")
    def _nodes(self) -> GkeInfraSettings:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) exceeds max_nodes ({self.max_nodes})")
        return self


class MonitoringSettings(StrictModel):
    """Cloud Monitoring for the service (terraform/modules/monitoring), from observability/slo.yaml."""

    enabled: bool = Field(True, description="log-based metrics, SLOs with burn-rate alerts, threshold alerts")
    notification_channels: list[str] = Field(
        default_factory=list,
        description="channels every alert policy notifies: projects/PROJECT/notificationChannels/ID",
    )
    uptime_check_host: str = Field(
        "", pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$|^$",
        description="host of a /healthz uptime check (e.g. the service's custom domain); empty: no uptime check",
    )

    @field_validator("notification_channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not re.fullmatch(r"projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/notificationChannels/\d+", channel):
                raise ValueError(f"not a notification channel (projects/PROJECT/notificationChannels/ID): {channel!r}")
        return value


class InfraSettings(StrictModel):
    """What Terraform provisions for an environment (see terraform/README.md for who owns which field)."""

    root_module: Path | None = Field(
        None, description="Terraform root module, relative to the config file; default terraform/<target>"
    )
    state: TerraformState = Field(
        default_factory=lambda: TerraformState(backend="local"), description="Terraform state location"
    )
    lock_timeout_s: int = Field(300, ge=0, le=3600, description="how long to wait for a held state lock")
    labels: dict[str, str] = Field(default_factory=dict, description="labels on every resource")
    deletion_protection: bool = Field(True, description="refuse to destroy the service/cluster")
    service_account: str = Field("cocus-rag-run", pattern=SA_ID, description="runtime service account id")
    runtime_roles: list[str] = Field(
        default_factory=lambda: [
            "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"
        ],
        description="project roles of the runtime service account (no primitive roles)",
    )
    ingress: Literal["all", "internal", "internal-and-load-balancer"] = "all"
    invoker: Literal["public", "iam"] = Field("iam", description="public: allUsers invoke; iam: members only")
    invoker_members: list[str] = Field(default_factory=list, description="IAM members allowed to invoke")
    secret_manager_endpoint: str | None = Field(
        None, description="Secret Manager API; unset = the real API, http://127.0.0.1:N = a local test server"
    )
    artifact_registry: ArtifactRegistrySettings = Field(default_factory=ArtifactRegistrySettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    gke: GkeInfraSettings = Field(default_factory=GkeInfraSettings)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            if not re.fullmatch(r"[a-z][-_a-z0-9]{0,62}", key) or not re.fullmatch(r"[-_a-z0-9]{0,63}", val):
                raise ValueError(f"invalid GCP label {key}={val!r} (lower-case letters, digits, - and _)")
        return value

    @field_validator("runtime_roles")
    @classmethod
    def _no_primitive_roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if role in _PRIMITIVE_ROLES:
                raise ValueError(f"primitive role {role} is not allowed; grant a predefined role")
            if not role.startswith(("roles/", "projects/", "organizations/")):
                raise ValueError(f"not an IAM role: {role!r}")
        return value

    @field_validator("invoker_members")
    @classmethod
    def _members(cls, value: list[str]) -> list[str]:
        for member in value:
            if member in ("allUsers", "allAuthenticatedUsers"):
                raise ValueError(f"{member} is not an invoker member; set invoker: public instead")
            if not _IAM_MEMBER.match(member):
                raise ValueError(f"not an IAM member (e.g. group:team@example.com): {member!r}")
        return value

    @field_validator("secret_manager_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = re.fullmatch(r"(https?)://([^/:]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?/?", value)
        if not match:
            raise ValueError(f"expected https://HOST[:PORT] or http://127.0.0.1:PORT, got {value!r}")
        if match[1] == "http" and not is_loopback(match[2]):
            raise ValueError("plain http is only allowed for a loopback endpoint")
        return value.rstrip("/")

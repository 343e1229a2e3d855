"""cocusctl's configuration: one pydantic model, loaded from `cocus.yaml`, env vars and flags.

Precedence: flag > `COCUSCTL_*` environment variable > `cocus.yaml` > defaults. Nested fields are reached
from the environment with double underscores: `COCUSCTL_SERVICE__SIZE_BUDGET_MB=300`,
`COCUSCTL_ENVIRONMENTS__LOCAL__REGISTRY__URL=127.0.0.1:5001/cocus`. Values are parsed as YAML scalars, so
lists can be given as `[CRITICAL, HIGH]`. Unknown keys are errors wherever they come from.
"""

from __future__ import annotations

import ipaddress
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from cocusctl.core.canary import CanaryAnalysisSettings
from cocusctl.core.errors import ConfigError, UsageError

CONFIG_FILE_NAME = "cocus.yaml"
ENV_PREFIX = "COCUSCTL_"
# Environment variables that set CLI options rather than config fields.
RESERVED_ENV = {"CONFIG", "ENV", "OUTPUT", "DEBUG", "NO_COLOR", "VERBOSE", "YES", "STATE_DIR"}

Severity = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
Target = Literal["cloudrun", "gke"]


def _critical_and_high() -> list[Severity]:
    return ["CRITICAL", "HIGH"]


_NAME = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
_REGISTRY_URL = re.compile(r"^(?P<host>[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:(?P<port>\d{1,5}))?(?P<path>(/[a-z0-9._-]+)+)$")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RegistryConfig(StrictModel):
    """Where images are pushed: an Artifact Registry Docker repository or any OCI registry."""

    url: str = Field(
        "127.0.0.1:5000/cocus",
        description="HOST[:PORT]/PATH, e.g. europe-west1-docker.pkg.dev/my-project/my-repo",
    )
    insecure: bool = Field(False, description="plain HTTP; only allowed for loopback registries")
    username: str | None = Field(None, description="for plain registries; Artifact Registry uses ADC")
    password: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        value = value.removeprefix("https://").removeprefix("http://").rstrip("/")
        if not _REGISTRY_URL.match(value):
            raise ValueError(f"expected HOST[:PORT]/REPOSITORY (lower-case path), got {value!r}")
        return value

    @model_validator(mode="after")
    def _insecure_only_on_loopback(self) -> RegistryConfig:
        if self.insecure and not is_loopback_host(self.host):
            raise ValueError(f"insecure (plain HTTP) registries are only allowed on loopback, not {self.host!r}")
        return self

    @property
    def host(self) -> str:
        match = _REGISTRY_URL.match(self.url)
        assert match is not None
        return match["host"]

    @property
    def netloc(self) -> str:
        return self.url.split("/", 1)[0]

    @property
    def repository(self) -> str:
        return self.url.split("/", 1)[1]

    @property
    def is_artifact_registry(self) -> bool:
        return self.host.endswith("-docker.pkg.dev")


class ServiceConfig(StrictModel):
    """The service image: what to build and how big it may be."""

    name: str = Field("cocus-rag", pattern=_NAME, description="service name (Cloud Run service, Helm release)")
    context: Path = Field(Path("."), description="build context, relative to the config file")
    dockerfile: Path = Field(Path("service/Dockerfile"), description="relative to the build context")
    image: str = Field("cocus-rag", pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$", description="image name")
    size_budget_mb: int = Field(400, gt=0, description="fail the build when the image is larger")
    build_args: dict[str, str] = Field(default_factory=dict)


class AcceptedFinding(StrictModel):
    """A finding accepted on purpose: it needs a reason and lapses at its expiry date."""

    id: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date


class ScanPolicy(StrictModel):
    """The Trivy gate. Defaults: fixable CRITICAL/HIGH vulnerabilities, any secret, CRITICAL/HIGH misconfig."""

    fail_on: list[Severity] = Field(default_factory=_critical_and_high)
    ignore_unfixed: bool = Field(True, description="list vulnerabilities without a fixed version, don't fail")
    fail_on_secrets: bool = True
    misconfig_fail_on: list[Severity] = Field(default_factory=_critical_and_high)
    accepted: list[AcceptedFinding] = Field(default_factory=list)
    ignore_file: Path | None = Field(None, description="YAML list of {id, reason, expires}")
    allow_missing_vuln_db: bool = Field(
        False, description="pass the gate when Trivy's vulnerability DB is unavailable (reported loudly)"
    )
    os_updates: Literal["fail", "warn", "off"] = Field(
        "fail",
        description="Debian images: an installed package older than its version in the release's security suite "
        "fails the gate (fail), is listed only (warn), or is not checked (off)",
    )
    debian_security_mirror: str = Field(
        "http://deb.debian.org/debian-security", description="where the Debian security suites are read from"
    )
    timeout_s: int = Field(900, gt=0)


class CloudRunSettings(StrictModel):
    """Cloud Run target settings."""

    service: str | None = Field(None, pattern=_NAME, description="defaults to service.name")
    api_endpoint: str | None = Field(
        None,
        description="Admin API endpoint; unset = real Cloud Run, http://127.0.0.1:N or `emulator` = the local "
        "emulator (`emulator` = the one `cocusctl emulator start` runs)",
    )
    # --- release strategy (deploy) ---
    strategy: Literal["all", "canary"] = Field("all", description="traffic after the smoke test: all at once or canary")
    canary_steps: list[int] = Field(
        default_factory=lambda: [10, 50, 100], description="canary percentages, increasing, ending at 100"
    )
    step_pause_s: float = Field(30.0, ge=0, description="pause between canary steps, with health checks")
    ready_timeout_s: float = Field(300.0, gt=0, description="wait this long for the new revision to be Ready")
    smoke_paths: list[str] = Field(
        default_factory=lambda: ["/readyz"], description="GET on the candidate's tag URL; each must answer 2xx"
    )
    smoke_query: str | None = Field(
        "What does the service do?", description="one real POST /v1/query {question} on the tag URL; null: skip"
    )
    smoke_api_key_env: str | None = Field(
        "COCUS_SMOKE_API_KEY",
        description="local environment variable whose value is sent as X-API-Key with the smoke query (never printed)",
    )
    candidate_tag: str = Field("candidate", pattern=r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$")
    # --- the revision template ---
    env: dict[str, str] = Field(default_factory=dict, description="plain environment variables")
    secrets: dict[str, str] = Field(
        default_factory=dict, description="ENV_NAME: SECRET[:VERSION] from Secret Manager (VERSION pins it)"
    )
    memory: str = Field("1Gi", pattern=r"^\d+(Mi|Gi)$")
    cpu: str = Field("1", pattern=r"^(\d+|\d+m)$")
    container_port: int = Field(8080, ge=1, le=65535)
    min_instances: int = Field(0, ge=0)
    max_instances: int = Field(10, ge=1)
    concurrency: int = Field(80, ge=1, le=1000)
    request_timeout_s: int = Field(300, ge=1, le=3600)
    startup_probe_path: str | None = Field("/readyz", description="HTTP startup probe; null = TCP")

    @field_validator("canary_steps")
    @classmethod
    def _steps_increase_to_100(cls, steps: list[int]) -> list[int]:
        if not steps or steps[-1] != 100 or any(not 0 < s <= 100 for s in steps) or steps != sorted(set(steps)):
            raise ValueError("canary_steps must be increasing percentages between 1 and 100, ending at 100")
        return steps


class GkeSettings(StrictModel):
    """GKE target settings."""

    cluster: str | None = None
    namespace: str = Field("default", pattern=_NAME)


# ============================================================================================================
# Infrastructure (Terraform) settings — owned by issue #5 (templates, render, plan, infra phase).
# Rendered into the Terraform root module's variables by `cocusctl render`; see terraform/README.md.
# ============================================================================================================
_SECRET_ID = r"^[A-Za-z0-9_-]{1,255}$"
_ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
_SA_ID = r"^[a-z]([-a-z0-9]{4,28}[a-z0-9])$"
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


class ScalingSettings(StrictModel):
    """Cloud Run instance limits and size (Terraform-owned)."""

    min_instances: int = Field(0, ge=0, le=1000, description="instances kept warm")
    max_instances: int = Field(10, ge=1, le=1000, description="upper bound on instances")
    cpu: str = Field("1", pattern=r"^([1-8]|[1-9][0-9]{2,3}m)$", description="CPU limit: 1..8 or e.g. 500m")
    memory: str = Field("512Mi", pattern=r"^[1-9][0-9]*(Mi|Gi)$", description="memory limit, e.g. 512Mi, 2Gi")
    concurrency: int = Field(80, ge=1, le=1000, description="max concurrent requests per instance")

    @model_validator(mode="after")
    def _min_le_max(self) -> ScalingSettings:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) exceeds max_instances ({self.max_instances})"
            )
        return self


class SecretBinding(StrictModel):
    """A Secret Manager secret injected as an env var at a pinned version. Terraform creates it empty."""

    name: str = Field(pattern=_SECRET_ID, description="Secret Manager secret id")
    env: str = Field(pattern=_ENV_VAR, description="environment variable the service reads")
    version: str = Field(description="pinned version number ('latest' is not allowed)")

    @field_validator("version", mode="before")
    @classmethod
    def _pinned(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]*", value):
            raise ValueError(f"pin a version number, e.g. '3' (got {value!r}; 'latest' is not allowed)")
        return value


class ArtifactRegistrySettings(StrictModel):
    """The Artifact Registry Docker repository and its cleanup policies."""

    repository: str | None = Field(
        None, pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", description="default: from the registry URL"
    )
    keep_recent: int = Field(10, ge=1, le=1000, description="cleanup: always keep this many recent versions")
    delete_untagged_after_days: int = Field(7, ge=1, le=3650, description="cleanup: delete untagged after")


class NetworkSettings(StrictModel):
    """VPC and subnet; the secondary ranges and control-plane block are used by GKE."""

    name: str = Field("cocus-vpc", pattern=_NAME)
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
    node_service_account: str = Field("cocus-gke-nodes", pattern=_SA_ID, description="nodes' service account")
    private_endpoint: bool = Field(False, description="control plane reachable only on its private IP")
    master_authorized_networks: list[AuthorizedNetwork] = Field(default_factory=list)

    @model_validator(mode="after")
    def _nodes(self) -> GkeInfraSettings:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) exceeds max_nodes ({self.max_nodes})")
        return self


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
    service_account: str = Field("cocus-rag-run", pattern=_SA_ID, description="runtime service account id")
    runtime_roles: list[str] = Field(
        default_factory=lambda: [
            "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"
        ],
        description="project roles of the runtime service account (no primitive roles)",
    )
    ingress: Literal["all", "internal", "internal-and-load-balancer"] = "all"
    invoker: Literal["public", "iam"] = Field("iam", description="public: allUsers invoke; iam: members only")
    invoker_members: list[str] = Field(default_factory=list, description="IAM members allowed to invoke")
    scaling: ScalingSettings = Field(default_factory=ScalingSettings)
    secrets: list[SecretBinding] = Field(default_factory=list, description="Secret Manager secrets, pinned")
    secret_manager_endpoint: str | None = Field(
        None, description="Secret Manager API; unset = the real API, http://127.0.0.1:N = a local test server"
    )
    env_vars: dict[str, str] = Field(default_factory=dict, description="plain settings; never secrets")
    artifact_registry: ArtifactRegistrySettings = Field(default_factory=ArtifactRegistrySettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
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
        if match[1] == "http" and not is_loopback_host(match[2]):
            raise ValueError("plain http is only allowed for a loopback endpoint")
        return value.rstrip("/")

    @field_validator("env_vars")
    @classmethod
    def _no_secrets_in_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(_ENV_VAR, key):
                raise ValueError(f"not an environment variable name: {key!r}")
            if SECRET_KEY.search(key):
                raise ValueError(f"{key} looks like a secret; declare it in infra.secrets (Secret Manager)")
        return value

    @model_validator(mode="after")
    def _secret_names_unique(self) -> InfraSettings:
        for attr in ("name", "env"):
            seen = [getattr(s, attr) for s in self.secrets]
            dupes = sorted({v for v in seen if seen.count(v) > 1})
            if dupes:
                raise ValueError(f"secrets: duplicate {attr} {', '.join(dupes)}")
        clash = sorted(set(self.env_vars) & {s.env for s in self.secrets})
        if clash:
            raise ValueError(f"{', '.join(clash)} set both in env_vars and secrets")
        return self


# ============================================================================================================
# End of the infrastructure settings block (issue #5).
# ============================================================================================================


class EnvironmentConfig(StrictModel):
    target: Target = "cloudrun"
    project: str = Field("local", description="GCP project id")
    region: str = Field("local", description="GCP region")
    registry: RegistryConfig | None = Field(None, description="defaults to the top-level registry")
    scan: ScanPolicy | None = Field(None, description="defaults to the top-level scan policy")
    infrastructure: bool = Field(True, description="run the Terraform phase on deploy")
    build_args: dict[str, str] = Field(
        default_factory=dict, description="image build arguments for this environment, over service.build_args"
    )
    cloudrun: CloudRunSettings = Field(default_factory=CloudRunSettings)
    gke: GkeSettings = Field(default_factory=GkeSettings)
    analysis: CanaryAnalysisSettings = Field(
        default_factory=CanaryAnalysisSettings, description="metric-gated canary analysis (both targets)")
    infra: InfraSettings = Field(default_factory=InfraSettings, description="Terraform inputs (issue #5)")


class CiSettings(StrictModel):
    """CI/CD: the GitHub Actions workflows `cocusctl ci render` writes, and the identities Terraform gives them."""

    repository: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="GitHub owner/name; Workload Identity Federation accepts tokens of this repository only",
    )
    default_branch: str = Field("main", pattern=r"^[A-Za-z0-9._/-]+$", description="releases start from here")
    python_version: str = Field("3.11", pattern=r"^3\.[0-9]+$", description="Python of the release jobs")
    test_environment: str | None = Field(
        None, description="environment of the CI image build (built and scanned, not pushed); default: default_environment"
    )
    release: list[str] = Field(
        default_factory=list,
        description="environments in release order: every build of the default branch or a v* tag is deployed to "
        "the first; each next one is promoted from the one before, behind its GitHub environment's protection",
    )
    deployer_account_id: str = Field("cocus-deployer", pattern=_SA_ID, description="CI deploy service account id")
    planner_account_id: str = Field("cocus-planner", pattern=_SA_ID, description="CI read-only plan service account id")


def _default_environments() -> dict[str, EnvironmentConfig]:
    return {
        "local": EnvironmentConfig(
            registry=RegistryConfig(url="127.0.0.1:5000/cocus", insecure=True), infrastructure=False
        )
    }


class CocusConfig(StrictModel):
    """cocus.yaml"""

    version: Literal[1] = 1
    project: str = Field("cocus-rag", pattern=_NAME, description="project name")
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    registry: RegistryConfig = Field(default_factory=lambda: RegistryConfig(url="127.0.0.1:5000/cocus", insecure=True))
    scan: ScanPolicy = Field(default_factory=ScanPolicy)
    output_dir: Path = Field(Path("build/cocus"), description="reports, SBOMs, rendered files")
    default_environment: str = "local"
    environments: dict[str, EnvironmentConfig] = Field(default_factory=_default_environments)
    ci: CiSettings = Field(default_factory=CiSettings, description="CI/CD workflows (`cocusctl ci render`)")

    @model_validator(mode="after")
    def _default_env_exists(self) -> CocusConfig:
        if self.default_environment not in self.environments:
            raise ValueError(
                f"default_environment {self.default_environment!r} is not one of: {', '.join(self.environments)}"
            )
        return self

    @model_validator(mode="after")
    def _ci_environments(self) -> CocusConfig:
        names = [self.ci.test_environment or self.default_environment, *self.ci.release]
        unknown = [n for n in names if n not in self.environments]
        if unknown:
            raise ValueError(f"ci: unknown environment(s) {', '.join(unknown)} (configured: {', '.join(self.environments)})")
        odd = [n for n in self.ci.release if not re.fullmatch(r"[a-z][-a-z0-9]{0,30}", n)]
        if odd:
            raise ValueError(f"ci.release: {', '.join(odd)}: release environment names are lower-case letters, digits "
                             "and hyphens (they name GitHub environments and jobs)")
        if len(set(self.ci.release)) != len(self.ci.release):
            raise ValueError("ci.release: an environment is listed twice")
        local = [n for n in self.ci.release if not self.environments[n].infrastructure]
        if local:
            raise ValueError(f"ci.release: {', '.join(local)} has no infrastructure (infrastructure: false)")
        if self.ci.release and self.ci.repository is None:
            raise ValueError("ci.release needs ci.repository (owner/name): Workload Identity trusts only that repository")
        return self


@dataclass(frozen=True)
class Environment:
    """An environment with the top-level defaults (registry, scan policy) filled in."""

    name: str
    settings: EnvironmentConfig
    registry: RegistryConfig
    scan: ScanPolicy
    build_args: dict[str, str]

    @property
    def target(self) -> Target:
        return self.settings.target


@dataclass
class LoadedConfig:
    config: CocusConfig
    path: Path | None
    root: Path
    sources: dict[str, str] = field(default_factory=dict)

    def environment(self, name: str | None = None) -> Environment:
        name = name or self.config.default_environment
        env = self.config.environments.get(name)
        if env is None:
            known = ", ".join(sorted(self.config.environments)) or "none"
            raise UsageError(f"unknown environment {name!r} (configured: {known})")
        return Environment(
            name=name,
            settings=env,
            registry=env.registry or self.config.registry,
            scan=env.scan or self.config.scan,
            build_args={**self.config.service.build_args, **env.build_args},
        )

    def resolve_path(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.root / path)

    def source_of(self, dotted: str) -> str:
        parts = dotted.split(".")
        while parts:
            key = ".".join(parts)
            if key in self.sources:
                return self.sources[key]
            parts.pop()
        return "default"


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    """Load and validate the layered configuration. Raises ConfigError naming the source and field."""
    environ = os.environ if environ is None else environ
    cwd = cwd or Path.cwd()
    explicit = path is not None
    config_path = path if path is not None else cwd / CONFIG_FILE_NAME
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if config_path.exists():
        raw = _read_yaml(config_path)
        for dotted in _leaf_paths(raw):
            sources[dotted] = str(config_path.name if not explicit else config_path)
        file_label = str(config_path)
    elif explicit:
        raise ConfigError(f"config file {config_path} does not exist")
    else:
        config_path = None  # type: ignore[assignment]
        file_label = "defaults"

    for key, value in sorted(environ.items()):
        if not key.startswith(ENV_PREFIX) or key[len(ENV_PREFIX):] in RESERVED_ENV:
            continue
        parts = _env_path(key, [p for p in key[len(ENV_PREFIX):].split("__") if p], raw)
        if not parts:
            continue
        _set_path(raw, parts, _parse_scalar(value))
        sources[".".join(parts)] = f"env {key}"

    for dotted, value in (flags or {}).items():
        if value is None:
            continue
        _set_path(raw, dotted.split("."), value)
        sources[dotted] = "flag"

    _inherit_scan_policy(raw, sources)
    try:
        config = CocusConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, sources, file_label)) from exc
    root = config_path.parent.resolve() if config_path else cwd.resolve()
    return LoadedConfig(config=config, path=config_path, root=root, sources=sources)


def _env_path(variable: str, parts: list[str], raw: dict[str, Any]) -> list[str]:
    """Map COCUSCTL_A__B__C onto field names, walking the model so that map keys keep their meaning.

    Field names are matched case-insensitively. Keys of a map of models (environments) must name an
    existing entry, with `_` standing for `-` (`LOCAL_STAGING` reaches `local-staging`); keys of a map of
    strings (env vars, build args, labels) keep the case they were given in.
    """
    resolved: list[str] = []
    model: Any = CocusConfig
    node: Any = raw
    for part in parts:
        if model is None:  # below a plain value or map of strings: keep the key as given
            resolved.append(part)
            continue
        origin = typing.get_origin(model)
        if origin is dict:
            value_type = _unwrap_optional(typing.get_args(model)[1])
            existing = list(node) if isinstance(node, dict) else []
            if not existing and model == dict[str, EnvironmentConfig]:
                existing = list(_default_environments())
            if isinstance(value_type, type) and issubclass(value_type, BaseModel):
                wanted = part.lower().replace("_", "-")
                match = next((k for k in existing if k.lower().replace("_", "-") == wanted), None)
                if match is None:
                    where = ".".join(resolved)
                    raise ConfigError(
                        f"env {variable}: {where}: no entry {part.lower()!r} (configured: {', '.join(existing) or 'none'})"
                    )
                resolved.append(match)
                model = value_type
            else:
                resolved.append(part)
                model = None
        elif isinstance(model, type) and issubclass(model, BaseModel):
            name = part.lower()
            resolved.append(name)
            field = model.model_fields.get(name)
            model = _unwrap_optional(field.annotation) if field is not None else None
        else:
            resolved.append(part.lower())
            model = None
        node = node.get(resolved[-1]) if isinstance(node, dict) else None
    return resolved


def _unwrap_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _inherit_scan_policy(raw: dict[str, Any], sources: dict[str, str]) -> None:
    """An environment's `scan:` block overrides single fields of the top-level policy, not the whole policy."""
    top = raw.get("scan")
    environments = raw.get("environments")
    if not isinstance(top, dict) or not isinstance(environments, dict):
        return
    for name, env in environments.items():
        if not isinstance(env, dict) or not isinstance(env.get("scan"), dict):
            continue
        for key, value in top.items():
            if key not in env["scan"]:
                env["scan"][key] = value
                if f"scan.{key}" in sources:
                    sources[f"environments.{name}.scan.{key}"] = sources[f"scan.{key}"] + " (scan)"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _parse_scalar(value: str) -> Any:
    try:
        return yaml.safe_load(value) if value != "" else ""
    except yaml.YAMLError:
        return value


def _set_path(raw: dict[str, Any], parts: list[str], value: Any) -> None:
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _leaf_paths(data: Any, prefix: str = "") -> list[str]:
    if isinstance(data, dict) and data:
        paths: list[str] = []
        for key, value in data.items():
            paths.extend(_leaf_paths(value, f"{prefix}.{key}" if prefix else str(key)))
        return paths
    return [prefix] if prefix else []


def _format_validation_error(exc: ValidationError, sources: dict[str, str], file_label: str) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    dotted = ".".join(loc)
    source = next(
        (sources[".".join(loc[:i])] for i in range(len(loc), 0, -1) if ".".join(loc[:i]) in sources),
        None,
    )
    if source is None:  # a model-level check: name every source that set a field below it
        below = sorted({src for key, src in sources.items() if key.startswith(f"{dotted}.")})
        source = ", ".join(below) or file_label
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; `cocusctl config schema` lists the keys)"
    elif "input" in first and first["type"] not in ("missing",) and not isinstance(first["input"], dict):
        message = f"{message} (got {first['input']!r})"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: {dotted or '<root>'}: {message}{more}"


SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential)", re.IGNORECASE)
REDACTED = "***"


def redacted_dump(config: CocusConfig) -> dict[str, Any]:
    """The config as plain data with every secret value replaced (SecretStr fields and secret-named keys)."""
    return _redact(config.model_dump(mode="json"))


def _redact(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _redact(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_redact(v, key) for v in data]
    if isinstance(data, str) and SECRET_KEY.search(key):
        return REDACTED
    return data


def config_json_schema() -> dict[str, Any]:
    schema = CocusConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cocus.yaml"
    return schema

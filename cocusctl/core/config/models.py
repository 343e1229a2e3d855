"""The models of cocus.yaml: service, registry, scan policy, environments and their targets."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from cocusctl.core.canary import CanaryAnalysisSettings
from cocusctl.core.config.base import NAME, SA_ID, TRAFFIC_TAG, Severity, StrictModel, Target
from cocusctl.core.config.infra import InfraSettings
from cocusctl.core.config.revision import RevisionSettings
from cocusctl.core.images import REGISTRY_URL, REPOSITORY
from cocusctl.core.net import is_loopback
from cocusctl.core.quality_gate import QualityGateSettings

# Settings schemas shipped inside cocusctl (package assets), by the name `service.settings_contract` uses.
BUNDLED_CONTRACTS = {"cocus-rag": "contracts/cocus-rag.json"}


def _critical_and_high() -> list[Severity]:
    return ["CRITICAL", "HIGH"]


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
        if not REGISTRY_URL.match(value):
            raise ValueError(f"expected HOST[:PORT]/REPOSITORY (lower-case path), got {value!r}")
        return value

    @model_validator(mode="after")
    def _insecure_only_on_loopback(self) -> RegistryConfig:
        if self.insecure and not is_loopback(self.host):
            raise ValueError(f"insecure (plain HTTP) registries are only allowed on loopback, not {self.host!r}")
        return self

    @property
    def host(self) -> str:
        match = REGISTRY_URL.match(self.url)
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

    name: str = Field("cocus-rag", pattern=NAME, description="service name (Cloud Run service, Helm release)")
    context: Path = Field(Path("."), description="build context, relative to the config file")
    dockerfile: Path = Field(Path("service/Dockerfile"), description="relative to the build context")
    image: str = Field("cocus-rag", pattern=rf"^{REPOSITORY}$", description="image name")
    size_budget_mb: int = Field(400, gt=0, description="fail the build when the image is larger")
    build_args: dict[str, str] = Field(default_factory=dict)
    settings_contract: str = Field(
        "cocus-rag",
        description="the settings schema the service publishes, which every environment is checked against: "
        "`cocus-rag` (the RAG service's, shipped with cocusctl), a path to such a JSON file (relative to the "
        "config file), or `none` for a service that publishes none",
    )

    @field_validator("settings_contract")
    @classmethod
    def _contract(cls, value: str) -> str:
        if value not in BUNDLED_CONTRACTS and value != "none" and not value.endswith(".json"):
            raise ValueError(f"expected one of {', '.join(BUNDLED_CONTRACTS)}, none, or a path to a .json file")
        return value


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


class ReleaseSettings(StrictModel):
    """How `deploy` rolls a revision out, on any target: strategy, canary steps, smoke test."""

    strategy: Literal["all", "canary"] = Field("all", description="traffic after the smoke test: all at once or canary")
    canary_steps: list[int] = Field(
        default_factory=lambda: [10, 50, 100], description="canary percentages, increasing, ending at 100"
    )
    step_pause_s: float = Field(30.0, ge=0, description="pause between canary steps, with health checks")
    ready_timeout_s: float = Field(300.0, gt=0, description="wait this long for the new revision to be Ready")
    smoke_paths: list[str] = Field(
        default_factory=lambda: ["/readyz"], description="GET on the candidate's URL; each must answer 2xx"
    )
    smoke_query: str | None = Field(
        "What does the service do?", description="one real POST /v1/query {question} on the candidate; null: skip"
    )
    smoke_api_key_env: str | None = Field(
        "COCUS_SMOKE_API_KEY",
        description="local environment variable whose value is sent as X-API-Key with the smoke query (never printed)",
    )
    candidate_tag: str = Field("candidate", pattern=TRAFFIC_TAG)

    @field_validator("canary_steps")
    @classmethod
    def _steps_increase_to_100(cls, steps: list[int]) -> list[int]:
        if not steps or steps[-1] != 100 or any(not 0 < s <= 100 for s in steps) or steps != sorted(set(steps)):
            raise ValueError("canary_steps must be increasing percentages between 1 and 100, ending at 100")
        return steps


class CloudRunSettings(StrictModel):
    """Where the Cloud Run target is: the service name and the Admin API endpoint."""

    service: str | None = Field(None, pattern=NAME, description="defaults to service.name")
    api_endpoint: str | None = Field(
        None,
        description="Admin API endpoint; unset = real Cloud Run, http://127.0.0.1:N or `emulator` = the local "
        "emulator (`emulator` = the one `cocusctl emulator start` runs)",
    )

    @property
    def is_local(self) -> bool:
        return self.api_endpoint == "emulator" or is_loopback(self.api_endpoint)


class GkeIngressSettings(StrictModel):
    """A public HTTPS entry: a GKE Ingress (external Application Load Balancer) or another IngressClass."""

    hosts: list[str] = Field(min_length=1, description="host names (their DNS must point at the load balancer)")
    class_name: str = Field("gce", description="gce, gce-internal, or an IngressClass (nginx, …)")
    tls: Literal["managed-certificate", "cert-manager", "secret"] = Field(
        "managed-certificate", description="GKE ManagedCertificate, a cert-manager issuer, or an existing Secret")
    issuer: str | None = Field(None, description="the cert-manager ClusterIssuer (tls: cert-manager)")
    secret_name: str | None = Field(None, description="the TLS Secret (tls: secret)")
    static_ip_name: str | None = Field(None, description="a reserved static IP address name")

    @model_validator(mode="after")
    def _tls_source(self) -> GkeIngressSettings:
        if self.tls == "cert-manager" and not self.issuer:
            raise ValueError("tls: cert-manager needs an issuer")
        return self


class GkeGatewaySettings(StrictModel):
    """A GKE Gateway: an HTTPRoute splits traffic by exact weights (render-checked here)."""

    name: str = Field(pattern=NAME, description="the Gateway the route attaches to")
    namespace: str | None = Field(None, pattern=NAME)
    hostnames: list[str] = Field(default_factory=list)


class GkeSettings(StrictModel):
    """Where the GKE target is (a kubeconfig context) and what the chart adds around the API."""

    cluster: str | None = Field(None, description="GKE cluster name (Terraform); default SERVICE-ENV")
    namespace: str = Field("default", pattern=NAME)
    kubeconfig: str | None = Field(
        None, description="kubeconfig file; `local` = the local cluster `cocusctl cluster start` runs; "
        "unset = $KUBECONFIG or ~/.kube/config")
    context: str | None = Field(None, description="kubeconfig context; unset = its current context")
    release: str | None = Field(None, pattern=NAME, description="Helm release name; defaults to service.name")
    cpu_request: str = Field("250m", pattern=r"^([1-8]|[1-9][0-9]{1,3}m)$",
                             description="CPU request per pod (the limit is revision.cpu)")
    ingress: GkeIngressSettings | None = None
    gateway: GkeGatewaySettings | None = None
    redis: bool = Field(False, description="a Redis for the answer cache and rate limits, in the release")
    prometheus: bool = Field(False, description="a Prometheus scraping the release's pods, with the rules")
    grafana_admin_secret: str | None = Field(
        None, pattern=NAME, description="a Secret (admin-user, admin-password): adds Grafana with the dashboards")
    metrics_port: int | None = Field(None, ge=1, le=65535, description="serve /metrics on this port only")

    @property
    def is_local(self) -> bool:
        return self.kubeconfig == "local"


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
    revision: RevisionSettings = Field(
        default_factory=RevisionSettings, description="what every revision runs with (Terraform, Cloud Run, Helm)"
    )
    release: ReleaseSettings = Field(default_factory=ReleaseSettings, description="how deploy rolls it out")
    cloudrun: CloudRunSettings = Field(default_factory=CloudRunSettings)
    gke: GkeSettings = Field(default_factory=GkeSettings)
    analysis: CanaryAnalysisSettings = Field(
        default_factory=CanaryAnalysisSettings, description="metric-gated canary analysis (both targets)")
    quality_gate: QualityGateSettings = Field(
        default_factory=QualityGateSettings,
        description="retrieval eval set on the candidate before traffic moves (both targets)")
    infra: InfraSettings = Field(default_factory=InfraSettings, description="Terraform-only inputs")

    @property
    def runs_locally(self) -> bool:
        """Served on this machine (the Cloud Run emulator, the local cluster): secrets come from the local store."""
        if self.target == "gke":
            return self.gke.is_local
        return self.cloudrun.is_local


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
    deployer_account_id: str = Field("cocus-deployer", pattern=SA_ID, description="CI deploy service account id")
    planner_account_id: str = Field("cocus-planner", pattern=SA_ID, description="CI read-only plan service account id")


def default_environments() -> dict[str, EnvironmentConfig]:
    return {
        "local": EnvironmentConfig(
            registry=RegistryConfig(url="127.0.0.1:5000/cocus", insecure=True), infrastructure=False
        )
    }


class CocusConfig(StrictModel):
    """cocus.yaml"""

    version: Literal[1] = 1
    project: str = Field("cocus-rag", pattern=NAME, description="project name")
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    registry: RegistryConfig = Field(default_factory=lambda: RegistryConfig(url="127.0.0.1:5000/cocus", insecure=True))
    scan: ScanPolicy = Field(default_factory=ScanPolicy)
    output_dir: Path = Field(Path("build/cocus"), description="reports, SBOMs, rendered files")
    default_environment: str = "local"
    environments: dict[str, EnvironmentConfig] = Field(default_factory=default_environments)
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

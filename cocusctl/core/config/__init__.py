"""cocusctl's configuration: one pydantic model, loaded from `cocus.yaml`, `COCUSCTL_*` variables and flags.

The package is split by concern — `models` (cocus.yaml), `revision` (what a revision runs with, on any
target), `infra` (Terraform-only inputs), `loading` (layering and error messages), `export` (redacted dump,
JSON Schema) — and re-exports what callers use.
"""

from cocusctl.core.config.base import SECRET_KEY, SEVERITIES, Severity, StrictModel, Target
from cocusctl.core.config.export import REDACTED, config_json_schema, redacted_dump
from cocusctl.core.config.infra import (
    ArtifactRegistrySettings,
    AuthorizedNetwork,
    GkeInfraSettings,
    InfraSettings,
    NetworkSettings,
    TerraformState,
)
from cocusctl.core.config.loading import CONFIG_FILE_NAME, ENV_PREFIX, Environment, LoadedConfig, load_config
from cocusctl.core.config.models import (
    BUNDLED_CONTRACTS,
    AcceptedFinding,
    CloudRunSettings,
    CocusConfig,
    EnvironmentConfig,
    GkeGatewaySettings,
    GkeIngressSettings,
    GkeSettings,
    RegistryConfig,
    ReleaseSettings,
    ScanPolicy,
    ServiceConfig,
)
from cocusctl.core.config.revision import RevisionSettings, SecretRef

__all__ = [
    "BUNDLED_CONTRACTS", "CONFIG_FILE_NAME", "ENV_PREFIX", "REDACTED", "SECRET_KEY", "SEVERITIES",
    "AcceptedFinding", "ArtifactRegistrySettings", "AuthorizedNetwork", "CloudRunSettings", "CocusConfig",
    "Environment", "EnvironmentConfig", "GkeGatewaySettings", "GkeInfraSettings", "GkeIngressSettings",
    "GkeSettings", "InfraSettings", "LoadedConfig", "NetworkSettings", "RegistryConfig", "ReleaseSettings", "RevisionSettings", "ScanPolicy", "SecretRef",
    "ServiceConfig", "Severity", "StrictModel", "Target", "TerraformState",
    "config_json_schema", "load_config", "redacted_dump",
]

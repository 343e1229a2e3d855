"""What a revision of the service runs with, on any target — the one model, with the one set of defaults.

Terraform inputs (`cocusctl render`), the Cloud Run release (`cocusctl deploy`) and the Helm values of the
GKE target all read `environments.<env>.revision`; none of them has defaults of its own.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from cocusctl.core.config.base import ENV_VAR, SECRET_KEY, StrictModel

SECRET_ID = r"^[A-Za-z0-9_-]{1,255}$"


class SecretRef(StrictModel):
    """A Secret Manager secret at a pinned version (`latest` is refused: a revision must be reproducible)."""

    secret: str = Field(pattern=SECRET_ID, description="Secret Manager secret id (Terraform creates it empty)")
    version: str = Field(description="pinned version number, e.g. '3'")

    @field_validator("version", mode="before")
    @classmethod
    def _pinned(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]*", value):
            raise ValueError(f"pin a version number, e.g. '3' (got {value!r}; 'latest' is not allowed)")
        return value

    def __str__(self) -> str:
        return f"{self.secret}:{self.version}"


class RevisionSettings(StrictModel):
    """Resources, scaling, concurrency and environment of every revision (Terraform, Cloud Run, Helm)."""

    cpu: str = Field("1", pattern=r"^([1-8]|[1-9][0-9]{2,3}m)$", description="CPU limit: 1..8 or e.g. 500m")
    memory: str = Field("1Gi", pattern=r"^[1-9][0-9]*(Mi|Gi)$", description="memory limit, e.g. 512Mi, 2Gi")
    min_instances: int = Field(0, ge=0, le=1000, description="instances (replicas) kept warm")
    max_instances: int = Field(10, ge=1, le=1000, description="upper bound on instances (replicas)")
    concurrency: int = Field(80, ge=1, le=1000, description="max concurrent requests per instance")
    request_timeout_s: int = Field(300, ge=1, le=3600, description="request timeout")
    container_port: int = Field(8080, ge=1, le=65535, description="the port the container listens on ($PORT)")
    startup_probe_path: str | None = Field("/readyz", description="HTTP startup probe; null = TCP")
    env: dict[str, str] = Field(default_factory=dict, description="plain settings of the service; never secrets")
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict, description="ENV_NAME: {secret, version}: delivered from Secret Manager, pinned"
    )

    @field_validator("env", "secrets")
    @classmethod
    def _variable_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [key for key in value if not re.fullmatch(ENV_VAR, key)]
        if bad:
            raise ValueError(f"not an environment variable name: {bad[0]!r}")
        return value

    @field_validator("env")
    @classmethod
    def _no_secrets_in_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if SECRET_KEY.search(key):
                raise ValueError(f"{key} looks like a secret; deliver it from Secret Manager (revision.secrets)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RevisionSettings:
        if self.min_instances > self.max_instances:
            raise ValueError(f"min_instances ({self.min_instances}) exceeds max_instances ({self.max_instances})")
        clash = sorted(set(self.env) & set(self.secrets))
        if clash:
            raise ValueError(f"{', '.join(clash)} set both in env and secrets")
        return self

    def secret_refs(self) -> dict[str, str]:
        """ENV -> "secret:version", as targets and status report them."""
        return {name: str(ref) for name, ref in sorted(self.secrets.items())}

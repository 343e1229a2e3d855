"""`cocusctl secrets set`: add a value to a secret an environment's revision references.

GCP environments: Secret Manager (Terraform created the secret empty). Local environments (the Cloud Run
emulator): the local secret store (`core.local_secrets`), from which the emulator resolves the same
references. The value comes from stdin, a file or a hidden prompt — never from the command line — and is
never logged, printed or kept. The result names the version number, which the environment must pin in
`revision.secrets.<ENV>.version` (versions are pinned; `latest` is refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from cocusctl.core.config import Environment
from cocusctl.core.errors import CloudApiError, UsageError
from cocusctl.core.reporting import Reporter

MAX_SECRET_BYTES = 64 * 1024  # Secret Manager's payload limit


class SecretStore(Protocol):
    """Secret Manager, or the local store for one project: `add_version` returns the SecretVersion resource
    (`name` = projects/P/secrets/S/versions/N; the local store adds `created: false` when the latest
    version already held the value)."""

    def add_version(self, secret_id: str, data: bytes) -> dict[str, Any]: ...


class SecretVersionResult(BaseModel):
    environment: str
    project: str
    store: Literal["secret-manager", "local"]
    secret: str
    env_vars: list[str]
    version: str
    created: bool
    pinned_version: str
    resource: str

    @property
    def needs_pin(self) -> bool:
        return self.version != self.pinned_version


def set_secret(
    environment: Environment,
    secret: str,
    value: bytes,
    reporter: Reporter,
    store_factory: Callable[[Environment], SecretStore],
) -> SecretVersionResult:
    revision = environment.settings.revision
    pinned = {env: ref for env, ref in revision.secrets.items() if ref.secret == secret}
    if not pinned:
        known = ", ".join(sorted({ref.secret for ref in revision.secrets.values()})) or "none"
        raise UsageError(
            f"secret {secret!r} is not referenced by {environment.name} (revision.secrets: {known})",
            hint="reference it under revision.secrets in cocus.yaml (for GCP, apply so Terraform creates it)",
        )
    if not value:
        raise UsageError("the secret value is empty; nothing was changed")
    if len(value) > MAX_SECRET_BYTES:
        raise UsageError(f"the secret value is {len(value)} bytes; Secret Manager allows {MAX_SECRET_BYTES}")
    local = environment.settings.runs_locally
    where = "the local secret store" if local else "Secret Manager"
    reporter.step(f"Adding a version to {secret} in {environment.settings.project} ({where})")
    version = store_factory(environment).add_version(secret, value)
    name = str(version.get("name", ""))
    number = name.rsplit("/", 1)[-1]
    if not number.isdigit():
        raise CloudApiError(f"Secret Manager returned an unexpected version name {name!r}")
    result = SecretVersionResult(
        environment=environment.name,
        project=environment.settings.project,
        store="local" if local else "secret-manager",
        secret=secret,
        env_vars=sorted(pinned),
        version=number,
        created=bool(version.get("created", True)),
        pinned_version=next(iter(pinned.values())).version,
        resource=name,
    )
    if result.needs_pin:
        reporter.warn(
            f"{environment.name} still reads version {result.pinned_version}: set the version of {secret} in "
            f"revision.secrets to \"{number}\" and deploy to use the new value"
        )
    return result

"""`cocusctl secrets set`: add a value to a Secret Manager secret that Terraform created empty.

The value comes from stdin, a file or a hidden prompt — never from the command line — and is never
logged, printed or kept. The result names the new version number, which the environment must then pin in
`infra.secrets[].version` (versions are pinned; `latest` is refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

from cocusctl.core.config import Environment
from cocusctl.core.errors import CloudApiError, UsageError
from cocusctl.core.render import require_infrastructure
from cocusctl.core.reporting import Reporter

MAX_SECRET_BYTES = 64 * 1024  # Secret Manager's payload limit


class SecretStore(Protocol):
    def add_version(self, secret_id: str, data: bytes) -> dict[str, Any]: ...


class SecretVersionResult(BaseModel):
    environment: str
    project: str
    secret: str
    env_var: str
    version: str
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
    require_infrastructure(environment)
    declared = {s.name: s for s in environment.settings.infra.secrets}
    binding = declared.get(secret)
    if binding is None:
        known = ", ".join(sorted(declared)) or "none"
        raise UsageError(
            f"secret {secret!r} is not declared for {environment.name} (infra.secrets: {known})",
            hint="declare it in cocus.yaml under infra.secrets and apply, so Terraform creates it",
        )
    if not value:
        raise UsageError("the secret value is empty; nothing was changed")
    if len(value) > MAX_SECRET_BYTES:
        raise UsageError(f"the secret value is {len(value)} bytes; Secret Manager allows {MAX_SECRET_BYTES}")
    reporter.step(f"Adding a version to {secret} in {environment.settings.project}")
    version = store_factory(environment).add_version(secret, value)
    name = str(version.get("name", ""))
    number = name.rsplit("/", 1)[-1]
    if not number.isdigit():
        raise CloudApiError(f"Secret Manager returned an unexpected version name {name!r}")
    result = SecretVersionResult(
        environment=environment.name,
        project=environment.settings.project,
        secret=secret,
        env_var=binding.env,
        version=number,
        pinned_version=binding.version,
        resource=name,
    )
    if result.needs_pin:
        reporter.warn(
            f"{environment.name} still reads version {binding.version}: set the version of {secret} in "
            f"infra.secrets to \"{number}\" and deploy to use the new value"
        )
    return result

"""Secret Manager on this machine: the store behind `cocusctl secrets set --env local-…`.

Local environments reference secrets exactly as GCP ones do (`revision.secrets: {ENV: {secret, version}}`);
the local Cloud Run emulator — and any other local runtime — resolves those references from this store,
so a local revision gets its API keys the way a Cloud Run revision does, and no value sits in a config
file, a command line or the emulator's state.

One JSON file (`$COCUS_SECRETS_FILE`, default `$XDG_DATA_HOME/cocusctl/local-secrets.json`), mode 0600 in
a 0700 folder, replaced atomically under a lock. Values are bytes, kept base64-encoded; nothing here
prints or logs them. Versions are numbered from 1 per secret, like Secret Manager's; adding the value the
latest version already holds adds nothing (so a script may set a secret on every run).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocusctl.core.errors import UsageError

ENV_FILE = "COCUS_SECRETS_FILE"
FORMAT_VERSION = 1


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get(ENV_FILE):
        return Path(environ[ENV_FILE]).expanduser()
    data_home = Path(environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share").expanduser()
    return data_home / "cocusctl" / "local-secrets.json"


class SecretNotFound(LookupError):
    """No such secret version in the local store; the message names it as Cloud Run would."""


def resource_name(project: str, secret: str, version: str | None = None) -> str:
    """`projects/P/secrets/S[/versions/V]`; `secret` may already be a full `projects/…/secrets/S` name."""
    name = secret if secret.startswith("projects/") else f"projects/{project}/secrets/{secret}"
    return f"{name}/versions/{version}" if version is not None else name


@dataclass(frozen=True)
class AddedVersion:
    name: str  # projects/P/secrets/S/versions/N
    version: str
    created: bool  # False: the latest version already held this value


class LocalSecretStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    # --- the file -------------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"format": FORMAT_VERSION, "secrets": {}}
        except (OSError, ValueError) as exc:
            raise UsageError(f"the local secret store {self.path} cannot be read: {type(exc).__name__}") from None
        if not isinstance(data, dict) or not isinstance(data.get("secrets"), dict):
            raise UsageError(f"the local secret store {self.path} is not a cocusctl secret store")
        return data

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # --- the API --------------------------------------------------------------------------------------
    def add_version(self, project: str, secret: str, value: bytes) -> AddedVersion:
        """Store `value` as the next version of the secret (or report the latest, if it already holds it)."""
        name = resource_name(project, secret)
        encoded = base64.b64encode(value).decode("ascii")
        with self._locked():
            data = self._read()
            versions: dict[str, str] = data["secrets"].setdefault(name, {}).setdefault("versions", {})
            latest = max(versions, key=int, default=None)
            if latest is not None and versions[latest] == encoded:
                return AddedVersion(f"{name}/versions/{latest}", latest, created=False)
            number = str(int(latest or 0) + 1)
            versions[number] = encoded
            self._write(data)
        return AddedVersion(f"{name}/versions/{number}", number, created=True)

    def access(self, project: str, secret: str, version: str) -> bytes:
        """The value of one version (`latest` is accepted, as Secret Manager accepts it)."""
        versions = self._read()["secrets"].get(resource_name(project, secret), {}).get("versions", {})
        if version == "latest" and versions:
            version = max(versions, key=int)
        if version not in versions:
            raise SecretNotFound(f"Secret {resource_name(project, secret, version)} was not found")
        return base64.b64decode(versions[version])


@dataclass(frozen=True)
class ProjectSecrets:
    """One project's secrets in the store, shaped like Secret Manager for `cocusctl secrets set`."""

    store: LocalSecretStore
    project: str

    def add_version(self, secret_id: str, data: bytes) -> dict[str, Any]:
        added = self.store.add_version(self.project, secret_id, data)
        return {"name": added.name, "created": added.created}

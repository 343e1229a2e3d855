"""Image references and registry URLs: one grammar for the config, the registry client and deploys.

`HOST[:PORT]/REPOSITORY[:TAG][@sha256:<64 hex>]`; repositories are lower-case path components. Deploys
take only references pinned by digest (`ImageRef.pinned`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cocusctl.core.errors import UsageError

if TYPE_CHECKING:
    from cocusctl.core.config import RegistryConfig

_HOST = r"[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]"
_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
REPOSITORY = rf"{_COMPONENT}(?:/{_COMPONENT})*"
TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

_REF = re.compile(
    rf"^(?P<registry>(?:{_HOST})(?::\d{{1,5}})?)/(?P<repository>{REPOSITORY})"
    rf"(?::(?P<tag>{TAG}))?(?:@(?P<digest>sha256:[0-9a-f]{{64}}))?$"
)
REGISTRY_URL = re.compile(rf"^(?P<netloc>(?P<host>{_HOST})(?::(?P<port>\d{{1,5}}))?)/(?P<path>{REPOSITORY})$")


@dataclass(frozen=True)
class ImageRef:
    registry: str  # HOST[:PORT]
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        match = _REF.match(ref.strip())
        if match is None:
            raise UsageError(
                f"malformed image reference {ref!r}: expected HOST[:PORT]/REPOSITORY[:TAG][@sha256:<64 hex digits>]"
                " (lower-case repository)"
            )
        return cls(match["registry"], match["repository"], match["tag"], match["digest"])

    @classmethod
    def pinned(cls, ref: str) -> ImageRef:
        """A reference that names its digest; deploys, promotes and copies accept nothing else."""
        hint = "deploys are pinned to digests; `cocusctl build` prints the pushed reference"
        if _REF.match(ref.strip()) is None:
            raise UsageError(
                f"malformed image reference {ref!r}: expected REGISTRY/REPOSITORY@sha256:<64 hex digits>", hint=hint
            )
        image = cls.parse(ref)
        if image.digest is None:
            raise UsageError(f"image reference {ref!r} is not pinned by digest (expected …@sha256:<64 hex digits>)",
                             hint=hint)
        return image

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What the registry API addresses: the digest, else the tag, else `latest`."""
        return self.digest or self.tag or "latest"

    @property
    def ref(self) -> str:
        """`NAME@DIGEST` when pinned (the tag is dropped: the digest decides), else `NAME[:TAG]`."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}" if self.tag else self.name

    def __str__(self) -> str:
        return self.ref


class RegistryApi(Protocol):
    """What the core needs from a registry (`cocusctl.adapters.registry.RegistryClient` implements it)."""

    def ping(self) -> int:
        """GET /v2/: 200 or 401 mean a registry answers; anything else raises."""
        ...

    def docker_auth_config(self) -> dict[str, str] | None:
        """Credentials for the engine's push, or None to use the engine's own."""
        ...

    def manifest_digest(self, repository: str, reference: str) -> str | None: ...

    def copy_by_digest(self, src_ref: str, dst_registry: RegistryConfig, image: str | None = None) -> str:
        """Copy a pinned image into `dst_registry`; returns the destination reference (same digest)."""
        ...

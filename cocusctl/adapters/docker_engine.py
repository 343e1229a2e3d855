"""The Docker engine, through the docker SDK (imported here only, never by `cocusctl.cli`).

Builds use the engine's classic builder with `network_mode="host"` (this machine's engine runs with
`--bridge=none`); the SDK sends the context honouring `.dockerignore`. Push streams are read to the end:
an error is reported as `PushError`, and the digest the engine pushed is returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocusctl.core.errors import BuildError, NotAvailableError, PushError

ENGINE_HINT = "start the Docker engine (scripts/local-stack.sh up) or set DOCKER_HOST"
Line = Callable[[str], None]


@dataclass(frozen=True)
class ImageInfo:
    id: str
    size: int


class DockerEngine:
    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_env(cls, timeout: int = 600) -> DockerEngine:
        try:
            import docker
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise NotAvailableError(
                "the docker SDK is not installed", hint="pip install 'cocusctl[build]'"
            ) from exc
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        try:
            client = docker.from_env(timeout=timeout)
            client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure here means "no engine"
            raise NotAvailableError(f"Docker engine not reachable at {where}", hint=ENGINE_HINT) from exc
        return cls(client)

    def api_version(self) -> str:
        return str(self.client.version().get("ApiVersion", "?"))

    def build(
        self,
        context: Path,
        *,
        dockerfile: str,
        tag: str,
        buildargs: Mapping[str, str],
        on_line: Line | None = None,
        no_cache: bool = False,
    ) -> str:
        """Build and tag the image; returns its id. Raises BuildError with the engine's message."""
        import docker.errors

        log: list[str] = []
        image_id: str | None = None
        try:
            stream = self.client.api.build(
                path=str(context),
                dockerfile=dockerfile,
                tag=tag,
                buildargs=dict(buildargs),
                network_mode="host",
                rm=True,
                forcerm=True,
                pull=False,
                nocache=no_cache,
                decode=True,
            )
            for chunk in stream:
                if "error" in chunk or "errorDetail" in chunk:
                    message = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error") or "?"
                    raise BuildError(
                        f"image build failed: {_one_line(message)}", details="\n".join(log[-30:])
                    )
                if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"]
                text = chunk.get("stream") or chunk.get("status")
                if text:
                    for line in str(text).splitlines():
                        if line.strip():
                            log.append(line)
                            if on_line:
                                on_line(line)
        except docker.errors.APIError as exc:
            raise BuildError(f"image build failed: {_one_line(exc.explanation or str(exc))}") from exc
        except docker.errors.DockerException as exc:
            raise BuildError(f"image build failed: {_one_line(str(exc))}") from exc
        if image_id is None:
            # Engines that do not send aux IDs: the tag now points at the result.
            image_id = self.client.images.get(tag).id
        return image_id

    def image(self, ref: str) -> ImageInfo:
        import docker.errors

        try:
            image = self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            raise NotAvailableError(f"image {ref} is not in the local engine") from None
        return ImageInfo(id=image.id, size=int(image.attrs.get("Size") or 0))

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        self.client.api.tag(image_id, repository, tag, force=True)

    def push(
        self,
        repository: str,
        tag: str,
        *,
        auth_config: Mapping[str, str] | None = None,
        on_line: Line | None = None,
    ) -> str:
        """Push `repository:tag`; returns the manifest digest the engine reports."""
        import docker.errors

        try:
            stream = self.client.api.push(
                repository, tag=tag, stream=True, decode=True, auth_config=dict(auth_config) if auth_config else None
            )
            digest = _read_push_stream(stream, on_line)
        except docker.errors.APIError as exc:
            raise PushError(f"push of {repository}:{tag} failed: {_one_line(exc.explanation or str(exc))}") from exc
        except docker.errors.DockerException as exc:
            raise PushError(f"push of {repository}:{tag} failed: {_one_line(str(exc))}") from exc
        if digest is None:
            raise PushError(f"push of {repository}:{tag} finished without reporting a digest")
        return digest


def _read_push_stream(stream: Iterable[dict[str, Any]], on_line: Line | None) -> str | None:
    digest: str | None = None
    for chunk in stream:
        if "error" in chunk or "errorDetail" in chunk:
            message = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error") or "?"
            raise PushError(f"push failed: {_one_line(message)}")
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest = str(aux["Digest"])
        status = chunk.get("status")
        # Per-layer byte progress is noise; phase changes ("Pushed", "Layer already exists") are not.
        if status and on_line and not chunk.get("progressDetail"):
            layer = chunk.get("id")
            on_line(f"{layer}: {status}" if layer else str(status))
    return digest


def _one_line(message: str) -> str:
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"

"""Revisions as real Docker containers: one container per running revision, host networking, own port.

Every container the emulator starts carries the label `cocus.emulator.instance=<id>`, so the emulator
only ever stops or removes containers it started itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from cocusctl.core.local_secrets import LocalSecretStore, SecretNotFound

from .resources import Json, memory_bytes, nano_cpus

LABEL_INSTANCE = "cocus.emulator.instance"
LABEL_REVISION = "cocus.emulator.revision"


class ContainerStartError(Exception):
    """The container could not be created (image missing, bad command...)."""

    def __init__(self, message: str, *, missing_image: bool = False) -> None:
        super().__init__(message)
        self.missing_image = missing_image


@dataclass
class ContainerState:
    running: bool
    exit_code: int | None


class DockerRuntime:
    """Thin, synchronous wrapper over the docker SDK (the emulator calls it from worker threads)."""

    def __init__(self, instance_id: str, secrets: LocalSecretStore) -> None:
        import docker  # heavy SDK, imported lazily

        self._docker = docker
        self.client = docker.from_env(timeout=120)
        self.instance_id = instance_id
        self.secrets = secrets
        self._pull_lock = threading.Lock()

    def _ensure_image(self, image: str) -> None:
        errors = self._docker.errors
        try:
            self.client.images.get(image)
            return
        except errors.ImageNotFound:
            pass
        with self._pull_lock:
            try:
                self.client.images.pull(image)
            except (errors.APIError, errors.ImageNotFound) as exc:
                raise ContainerStartError(
                    f"Image '{image}' not found: {exc.explanation or exc}", missing_image=True
                ) from None

    def _secret_env(self, project: str, index: int, item: Json) -> str:
        """A `secretKeyRef` resolved from the local secret store; a missing one fails the revision as on GCP."""
        ref = (item.get("valueSource") or {}).get("secretKeyRef") or {}
        try:
            value = self.secrets.access(project, str(ref.get("secret", "")), str(ref.get("version") or "latest"))
        except SecretNotFound as exc:
            raise ContainerStartError(
                f"spec.template.spec.containers[0].env[{index}].value_from.secret_key_ref.name: {exc}"
            ) from None
        return value.decode("utf-8", "replace")

    def start(self, *, project: str, service_id: str, revision_id: str, revision: Json, port: int) -> str:
        containers = revision.get("containers") or [{}]
        spec = containers[0]
        image = spec.get("image", "")
        env: dict[str, str] = {}
        for index, item in enumerate(spec.get("env", [])):
            if "value" in item:
                env[item["name"]] = item["value"]
            elif item.get("valueSource"):
                env[item["name"]] = self._secret_env(project, index, item)
        self._ensure_image(image)
        env.update({
            "PORT": str(port),
            "K_SERVICE": service_id,
            "K_REVISION": revision_id,
            "K_CONFIGURATION": service_id,
        })
        kwargs: dict[str, Any] = {}
        limits = (spec.get("resources") or {}).get("limits") or {}
        if "memory" in limits and (mem := memory_bytes(limits["memory"])):
            kwargs["mem_limit"] = mem
        if "cpu" in limits and (cpus := nano_cpus(limits["cpu"])):
            kwargs["nano_cpus"] = cpus
        if spec.get("command"):
            kwargs["entrypoint"] = list(spec["command"])
        if spec.get("args"):
            kwargs["command"] = list(spec["args"])
        if spec.get("workingDir"):
            kwargs["working_dir"] = spec["workingDir"]
        name = f"cocus-emu-{self.instance_id[:8]}-{revision_id}"[:120]
        self._remove_by_name(name)
        try:
            container = self.client.containers.run(
                image,
                detach=True,
                name=name,
                network_mode="host",
                environment=env,
                labels={LABEL_INSTANCE: self.instance_id, LABEL_REVISION: revision_id},
                **kwargs,
            )
        except self._docker.errors.APIError as exc:
            raise ContainerStartError(f"Container failed to start: {exc.explanation or exc}") from None
        return str(container.id)

    def _remove_by_name(self, name: str) -> None:
        try:
            old = self.client.containers.get(name)
        except self._docker.errors.NotFound:
            return
        if old.labels.get(LABEL_INSTANCE) == self.instance_id:
            old.remove(force=True)

    def state(self, container_id: str) -> ContainerState:
        try:
            c = self.client.containers.get(container_id)
        except self._docker.errors.NotFound:
            return ContainerState(False, None)
        st = c.attrs.get("State", {})
        return ContainerState(bool(st.get("Running")), st.get("ExitCode"))

    def logs(self, container_id: str, tail: int = 50) -> str:
        try:
            c = self.client.containers.get(container_id)
            return c.logs(tail=tail).decode("utf-8", "replace")
        except self._docker.errors.NotFound:
            return ""

    def remove(self, container_id: str) -> None:
        try:
            c = self.client.containers.get(container_id)
        except self._docker.errors.NotFound:
            return
        if c.labels.get(LABEL_INSTANCE) != self.instance_id:
            return
        try:
            c.stop(timeout=2)
        except self._docker.errors.APIError:
            pass
        try:
            c.remove(force=True)
        except self._docker.errors.APIError:
            pass

    def remove_all(self) -> None:
        mine = {"label": f"{LABEL_INSTANCE}={self.instance_id}"}
        for c in self.client.containers.list(all=True, filters=mine):
            try:
                c.remove(force=True)
            except self._docker.errors.APIError:
                pass

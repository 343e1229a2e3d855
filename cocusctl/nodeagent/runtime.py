"""Containers through the Docker engine (docker SDK, imported lazily): the agent's container runtime.

Every container carries the label `cocus.cluster=<cluster id>` and the pod's identity; the agent only
lists, stops or removes containers with its own cluster id.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

LABEL_CLUSTER = "cocus.cluster"
LABEL_POD_UID = "cocus.pod.uid"
LABEL_POD = "cocus.pod"
LABEL_CONTAINER = "cocus.container"
LABEL_RESTART = "cocus.restart"
LABEL_POD_IP = "cocus.pod.ip"


class ImageError(Exception):
    """The image cannot be had: `reason` is the kubelet's waiting reason (ErrImagePull, ErrImageNeverPull)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class CreateError(Exception):
    """The container could not be created or started (bad command, bad user...)."""


@dataclass
class ContainerSpec:
    name: str
    image: str
    labels: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] | None = None
    command: list[str] | None = None
    working_dir: str | None = None
    user: str | None = None
    groups: list[str] = field(default_factory=list)
    mem_limit: int | None = None
    nano_cpus: int | None = None
    binds: list[str] = field(default_factory=list)
    read_only: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    no_new_privileges: bool = False


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    running: bool
    exit_code: int
    oom_killed: bool
    error: str
    started_at: str | None
    finished_at: str | None
    image_id: str
    labels: dict[str, str]


@dataclass(frozen=True)
class Usage:
    cpu_ns: int
    memory_working_set: int


class ContainerRuntime(Protocol):
    def ensure_image(self, ref: str, policy: str) -> str: ...
    def image_user(self, ref: str) -> str: ...
    def create_and_start(self, spec: ContainerSpec) -> str: ...
    def inspect(self, container_id: str) -> ContainerInfo | None: ...
    def stop(self, container_id: str, timeout: int) -> None: ...
    def remove(self, container_id: str) -> None: ...
    def logs(self, container_id: str, *, tail: int | None = None, since: int | None = None,
             timestamps: bool = False, follow: bool = False) -> Iterator[bytes]: ...
    def exec(self, container_id: str, argv: list[str], timeout: float) -> int: ...
    def usage(self, container_id: str) -> Usage | None: ...
    def owned(self, cluster_id: str) -> list[ContainerInfo]: ...


def _with_tag(ref: str) -> str:
    """An untagged reference means `:latest` (the engine would pull every tag otherwise)."""
    if "@" in ref or ":" in ref.rsplit("/", 1)[-1]:
        return ref
    return f"{ref}:latest"


def _time(value: str | None) -> str | None:
    """Docker's nanosecond RFC 3339 -> Kubernetes' second precision; the zero time -> None."""
    if not value or value.startswith("0001-"):
        return None
    return value.split(".")[0].rstrip("Z") + "Z"


class DockerRuntime:
    def __init__(self) -> None:
        import docker

        self._docker = docker
        self.client = docker.from_env(timeout=120)
        self._pull_lock = threading.Lock()

    def ensure_image(self, ref: str, policy: str) -> str:
        """The image id for `ref`, pulled according to imagePullPolicy (Always, IfNotPresent, Never)."""
        errors = self._docker.errors
        present = None
        try:
            present = self.client.images.get(ref)
        except errors.ImageNotFound:
            pass
        except errors.APIError as exc:
            raise ImageError("InvalidImageName", f"image {ref!r}: {exc.explanation or exc}") from None
        if present is not None and policy != "Always":
            return str(present.id)
        if present is None and policy == "Never":
            raise ImageError("ErrImageNeverPull", f'Container image "{ref}" is not present with pull policy of Never')
        with self._pull_lock:
            try:
                self.client.api.pull(_with_tag(ref))
                return str(self.client.images.get(ref).id)
            except (errors.APIError, errors.ImageNotFound) as exc:
                if present is not None:  # Always, but the registry is unreachable: keep what is here
                    return str(present.id)
                message = getattr(exc, "explanation", None) or str(exc)
                raise ImageError("ErrImagePull", f'failed to pull image "{ref}": {message}') from None

    def image_user(self, ref: str) -> str:
        return str((self.client.images.get(ref).attrs.get("Config") or {}).get("User") or "")

    def create_and_start(self, spec: ContainerSpec) -> str:
        errors = self._docker.errors
        options: dict[str, Any] = {
            "entrypoint": spec.entrypoint, "command": spec.command, "working_dir": spec.working_dir or None,
            "user": spec.user or None, "group_add": spec.groups or None, "mem_limit": spec.mem_limit, "nano_cpus": spec.nano_cpus,
            "cap_add": spec.cap_add or None, "cap_drop": spec.cap_drop or None,
            "security_opt": ["no-new-privileges"] if spec.no_new_privileges else None,
        }
        kwargs = {name: value for name, value in options.items() if value is not None}
        try:
            old = self.client.containers.get(spec.name)
            if old.labels.get(LABEL_CLUSTER) == spec.labels.get(LABEL_CLUSTER):
                old.remove(force=True)
        except errors.NotFound:
            pass
        try:
            container = self.client.containers.create(
                spec.image, name=spec.name, detach=True, network_mode="host", environment=spec.env,
                labels=spec.labels, volumes=spec.binds, read_only=spec.read_only, **kwargs,
            )
        except errors.APIError as exc:
            raise CreateError(str(exc.explanation or exc)) from None
        try:
            container.start()
        except errors.APIError as exc:
            container.remove(force=True)
            raise CreateError(str(exc.explanation or exc)) from None
        return str(container.id)

    def _info(self, attrs: dict[str, Any]) -> ContainerInfo:
        state = attrs.get("State") or {}
        return ContainerInfo(
            id=str(attrs["Id"]), running=bool(state.get("Running")), exit_code=int(state.get("ExitCode") or 0),
            oom_killed=bool(state.get("OOMKilled")), error=str(state.get("Error") or ""),
            started_at=_time(state.get("StartedAt")), finished_at=_time(state.get("FinishedAt")),
            image_id=str(attrs.get("Image") or ""), labels=dict((attrs.get("Config") or {}).get("Labels") or {}),
        )

    def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            return self._info(self.client.api.inspect_container(container_id))
        except self._docker.errors.NotFound:
            return None

    def stop(self, container_id: str, timeout: int) -> None:
        """SIGTERM (the image's stop signal), then SIGKILL after `timeout` seconds."""
        try:
            self.client.api.stop(container_id, timeout=max(0, timeout))
        except self._docker.errors.NotFound:
            pass

    def remove(self, container_id: str) -> None:
        try:
            self.client.api.remove_container(container_id, force=True)
        except self._docker.errors.NotFound:
            pass

    def logs(self, container_id: str, *, tail: int | None = None, since: int | None = None,
             timestamps: bool = False, follow: bool = False) -> Iterator[bytes]:
        kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "timestamps": timestamps}
        if tail is not None:
            kwargs["tail"] = tail
        if since is not None:
            kwargs["since"] = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=since)
        try:
            if follow:
                yield from self.client.api.logs(container_id, stream=True, follow=True, **kwargs)
            else:
                yield self.client.api.logs(container_id, stream=False, **kwargs)
        except self._docker.errors.NotFound:
            return

    def exec(self, container_id: str, argv: list[str], timeout: float) -> int:
        """Run `argv` in the container (exec probes and hooks); its exit code, 124 past `timeout`."""
        result: list[int] = []

        def target() -> None:
            try:
                exit_code, _ = self.client.containers.get(container_id).exec_run(argv)
                result.append(int(exit_code if exit_code is not None else 1))
            except self._docker.errors.APIError:
                result.append(126)

        worker = threading.Thread(target=target, daemon=True)
        worker.start()
        worker.join(timeout)
        return result[0] if result else 124

    def usage(self, container_id: str) -> Usage | None:
        """Cumulative CPU time and the memory working set (usage minus inactive page cache)."""
        try:
            stats = self.client.api.stats(container_id, stream=False, one_shot=True)
        except (self._docker.errors.NotFound, self._docker.errors.APIError):
            return None
        cpu = int(((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0)
        memory = stats.get("memory_stats") or {}
        detail = memory.get("stats") or {}
        inactive = int(detail.get("total_inactive_file", detail.get("inactive_file", 0)) or 0)
        usage = int(memory.get("usage") or 0)
        return Usage(cpu, max(0, usage - inactive))

    def owned(self, cluster_id: str) -> list[ContainerInfo]:
        found = self.client.api.containers(all=True, filters={"label": f"{LABEL_CLUSTER}={cluster_id}"})
        infos = []
        for summary in found:
            info = self.inspect(summary["Id"])
            if info is not None:
                infos.append(info)
        return infos

"""Typed values the Cloud Run lifecycle works with (the results it returns are in `core.release.results`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cocusctl.core.config import RevisionSettings

@dataclass(frozen=True)
class TrafficEntry:
    """One traffic target. `revision=None` means LATEST (the latest ready revision)."""

    revision: str | None
    percent: int
    tag: str = ""

    def label(self) -> str:
        return self.revision or "LATEST"


@dataclass(frozen=True)
class RevisionSpec:
    """What a deploy puts into the service template: one image and the environment's revision settings."""

    revision: str
    image: str
    env: dict[str, str]
    secrets: dict[str, str]  # ENV -> "secret:version"
    memory: str
    cpu: str
    container_port: int
    min_instances: int
    max_instances: int
    concurrency: int
    timeout_s: int
    startup_probe_path: str | None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, revision: str, image: str, settings: RevisionSettings) -> RevisionSpec:
        return cls(
            revision=revision,
            image=image,
            env=dict(settings.env),
            secrets=settings.secret_refs(),
            memory=settings.memory,
            cpu=settings.cpu,
            container_port=settings.container_port,
            min_instances=settings.min_instances,
            max_instances=settings.max_instances,
            concurrency=settings.concurrency,
            timeout_s=settings.request_timeout_s,
            startup_probe_path=settings.startup_probe_path,
        )


@dataclass(frozen=True)
class Condition:
    type: str
    state: str  # SUCCEEDED | FAILED | RECONCILING | PENDING | UNKNOWN
    message: str = ""
    reason: str = ""


@dataclass(frozen=True)
class RevisionInfo:
    name: str  # short id
    image: str
    created: str
    ready: bool | None  # None while still reconciling
    conditions: tuple[Condition, ...] = ()
    log_uri: str = ""
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    memory: str = ""
    cpu: str = ""
    min_instances: int = 0
    max_instances: int = 0
    concurrency: int = 0

    @property
    def digest(self) -> str:
        return self.image.split("@", 1)[1] if "@" in self.image else ""

    def failure_message(self) -> str:
        for c in self.conditions:
            if c.type == "Ready" and c.state == "FAILED":
                return c.message
        return ""


@dataclass(frozen=True)
class TrafficStatus:
    revision: str
    percent: int
    tag: str = ""
    url: str = ""


@dataclass(frozen=True)
class ServiceState:
    name: str  # short id
    uri: str
    traffic: tuple[TrafficEntry, ...]  # the spec
    statuses: tuple[TrafficStatus, ...]  # what actually serves
    latest_ready: str
    latest_created: str
    ready: bool | None
    conditions: tuple[Condition, ...] = ()

    def serving(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.statuses:
            if s.percent:
                out[s.revision] = out.get(s.revision, 0) + s.percent
        return out

    def pinned_traffic(self) -> list[TrafficEntry]:
        """The traffic that serves now, with LATEST resolved to its revision (safe to restore)."""
        return [TrafficEntry(s.revision, s.percent, s.tag) for s in self.statuses]

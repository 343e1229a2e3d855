"""Typed values the lifecycle works with, and the results the CLI renders (human and JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from cocusctl.core.canary import AnalysisResult


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
    """What a deploy puts into the service template."""

    revision: str
    image: str
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # ENV -> "secret:version"
    memory: str = "512Mi"
    cpu: str = "1"
    container_port: int = 8080
    min_instances: int = 0
    max_instances: int = 10
    concurrency: int = 80
    timeout_s: int = 300
    startup_probe_path: str | None = "/readyz"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


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


# ------------------------------------------------------------------ results (rendered by the CLI)
class TrafficRow(BaseModel):
    revision: str
    percent: int
    tag: str | None = None
    url: str | None = None


class ConditionRow(BaseModel):
    type: str
    state: str
    message: str = ""


class DeployResult(BaseModel):
    environment: str
    target: Literal["cloudrun", "gke"] = "cloudrun"
    service: str
    revision: str
    image: str
    digest: str
    outcome: Literal["deployed", "unchanged", "failed"] = "deployed"
    created: bool = Field(description="a new revision was created (false: it already existed)")
    changed: bool = Field(description="traffic changed")
    strategy: str
    url: str
    candidate_url: str | None = None
    traffic_before: list[TrafficRow]
    traffic_after: list[TrafficRow]
    steps: list[str] = Field(default_factory=list)
    analysis: list[AnalysisResult] = Field(
        default_factory=list, description="metric-gated canary: candidate vs stable after each step's pause")
    infra: str | None = Field(None, description="what the infra phase did before the release phase")
    duration_s: float = 0.0


class TrafficResult(BaseModel):
    environment: str
    action: Literal["split-traffic", "rollback"] = "split-traffic"
    target: Literal["cloudrun", "gke"] = "cloudrun"
    service: str
    changed: bool
    traffic_before: list[TrafficRow]
    traffic_after: list[TrafficRow]


class RevisionRow(BaseModel):
    name: str
    image: str
    digest: str | None = None
    created: str | None = None
    ready: bool | None = None
    percent: int = 0
    tags: list[str] = Field(default_factory=list)
    conditions: list[ConditionRow] = Field(default_factory=list)
    requests: int | None = Field(None, description="requests served (emulator only)")


class StatusResult(BaseModel):
    """Target-neutral status: GKE fills the same schema (revisions = ReplicaSets/releases)."""

    schema_version: int = 1
    environment: str
    target: Literal["cloudrun", "gke"]
    service: str
    exists: bool
    url: str | None = None
    ready: bool | None = None
    conditions: list[ConditionRow] = Field(default_factory=list)
    revisions: list[RevisionRow] = Field(default_factory=list)
    traffic: list[TrafficRow] = Field(default_factory=list)
    monitoring: dict[str, str] | None = Field(
        None, description="where the local monitoring stack runs (Prometheus, Alertmanager), when it does")


class PromoteResult(BaseModel):
    source_environment: str
    target_environment: str
    source_revision: str
    digest: str
    source_image: str
    target_image: str
    differences: list[str]
    deploy: DeployResult

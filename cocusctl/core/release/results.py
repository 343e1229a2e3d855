"""What the release commands return, target-neutral: Cloud Run and GKE fill the same models.

The CLI renders them (human views) and `--output json` prints them inside the versioned envelope.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from cocusctl.core.canary import AnalysisResult
from cocusctl.core.config import Target
from cocusctl.core.infra import InfraResult
from cocusctl.core.quality_gate import QualityGateResult


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
    target: Target = "cloudrun"
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
    quality_gate: QualityGateResult | None = Field(
        None, description="eval set on the candidate vs the serving revision, before traffic moved")
    infra: InfraResult | None = Field(None, description="what the infra phase did before the release phase")
    duration_s: float = 0.0


class TrafficResult(BaseModel):
    environment: str
    action: Literal["split-traffic", "rollback"] = "split-traffic"
    target: Target = "cloudrun"
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
    index_version: str | None = Field(None, description="the revision's retrieval index (its /version), if reachable")
    embedding_model: str | None = Field(None, description="the model that embedded that index: name@sha256[:12]")


class StatusResult(BaseModel):
    """Target-neutral status: GKE fills the same schema (revisions = ReplicaSets/releases)."""

    schema_version: int = 1
    environment: str
    target: Target
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

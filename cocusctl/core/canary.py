"""Metric-gated canaries, target-neutral: between canary steps, compare the candidate with the stable revisions
and proceed or abort.

A `CanaryMetrics` source measures each revision over the step (requests, 5xx, p95 latency): Prometheus where
the environment names one (`analysis.prometheus_url`), else the platform's router counters (the local Cloud
Run emulator's). `CanaryAnalyzer` brackets a step (`start` before the pause, `finish` after it) and returns an
`AnalysisResult`; the target's deployer aborts on a failed verdict, restores traffic and exits 11.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from cocusctl.core.errors import DeployError


class CanaryAnalysisSettings(BaseModel):
    """`analysis:` of an environment in cocus.yaml."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = Field(True, description="analyse candidate vs stable between canary steps")
    prometheus_url: str | None = Field(
        None, description="Prometheus scraping the service (http://127.0.0.1:9090); unset: the router's counters")
    max_error_ratio_increase: float = Field(
        0.02, ge=0, le=1, description="fail when the candidate's 5xx ratio exceeds the stable one's by more")
    max_p95_increase_ratio: float = Field(
        0.5, ge=0, description="fail when the candidate's p95 exceeds the stable p95 by more than this share...")
    min_p95_delta_s: float = Field(0.05, ge=0, description="...and by at least this many seconds")
    min_requests: int = Field(20, ge=1, description="fewer candidate requests in a step: inconclusive, proceed")


class RevisionSample(BaseModel):
    """What one revision (or the stable revisions together) served during a step."""

    revisions: list[str]
    requests: float
    errors: float = Field(description="responses with status >= 500")
    p95_s: float | None = Field(None, description="95th percentile latency; None when the source has none")

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests > 0 else 0.0


class CanaryCheck(BaseModel):
    metric: Literal["error_ratio", "p95_s"]
    candidate: float | None
    stable: float | None
    limit: float | None = Field(description="the candidate fails above this value")
    passed: bool
    detail: str


class AnalysisResult(BaseModel):
    step_percent: int
    source: str
    window_s: float
    verdict: Literal["pass", "fail", "inconclusive"]
    candidate: RevisionSample
    stable: RevisionSample
    checks: list[CanaryCheck]

    def summary(self) -> str:
        failed = [c.detail for c in self.checks if not c.passed]
        if self.verdict == "fail":
            return "; ".join(failed)
        if self.verdict == "inconclusive":
            return (f"{self.candidate.requests:.0f} candidate requests in {self.window_s:.0f}s, fewer than needed; "
                    "proceeding on health checks alone")
        return "; ".join(c.detail for c in self.checks)


class CanaryAnalysisFailed(DeployError):
    """The candidate is worse than the stable revisions; the deployer restores traffic (exit 11)."""

    code = "canary_analysis_failed"


class CanaryMetrics(Protocol):
    """Per-revision traffic of one service between two points in time."""

    source: str

    def mark(self) -> object:
        """An opaque marker of 'now' (a time, or a snapshot of counters)."""
        ...

    def since(self, marker: object, revisions: Sequence[str]) -> tuple[RevisionSample, float]:
        """The revisions' traffic since `marker`, summed, and the window in seconds."""
        ...


def analyse(step_percent: int, source: str, window_s: float, candidate: RevisionSample, stable: RevisionSample,
            settings: CanaryAnalysisSettings) -> AnalysisResult:
    """Compare candidate with stable; pure, so the thresholds are unit-tested without any server."""
    checks: list[CanaryCheck] = []
    limit = stable.error_ratio + settings.max_error_ratio_increase
    checks.append(CanaryCheck(
        metric="error_ratio", candidate=round(candidate.error_ratio, 6), stable=round(stable.error_ratio, 6),
        limit=round(limit, 6), passed=candidate.error_ratio <= limit,
        detail=f"5xx ratio {candidate.error_ratio:.1%} vs stable {stable.error_ratio:.1%} (limit {limit:.1%})"))
    if candidate.p95_s is None or stable.p95_s is None:
        checks.append(CanaryCheck(metric="p95_s", candidate=candidate.p95_s, stable=stable.p95_s, limit=None,
                                  passed=True, detail="p95 latency not available from this source"))
    else:
        p95_limit = max(stable.p95_s * (1 + settings.max_p95_increase_ratio), stable.p95_s + settings.min_p95_delta_s)
        checks.append(CanaryCheck(
            metric="p95_s", candidate=round(candidate.p95_s, 6), stable=round(stable.p95_s, 6),
            limit=round(p95_limit, 6), passed=candidate.p95_s <= p95_limit,
            detail=f"p95 {candidate.p95_s * 1000:.0f} ms vs stable {stable.p95_s * 1000:.0f} ms "
                   f"(limit {p95_limit * 1000:.0f} ms)"))
    if candidate.requests < settings.min_requests:
        verdict: Literal["pass", "fail", "inconclusive"] = "inconclusive"
    else:
        verdict = "pass" if all(c.passed for c in checks) else "fail"
    return AnalysisResult(step_percent=step_percent, source=source, window_s=round(window_s, 3), verdict=verdict,
                          candidate=candidate, stable=stable, checks=checks)


def histogram_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    """The q-quantile of a histogram (per-bucket counts, the last one above the last bound), interpolated
    linearly within the bucket as Prometheus' histogram_quantile does; None without observations."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    below = 0.0
    for i, count in enumerate(counts):
        if below + count >= rank and count > 0:
            if i >= len(bounds):  # beyond the last bound: the last bound is the best estimate
                return float(bounds[-1])
            lower = 0.0 if i == 0 else float(bounds[i - 1])
            return lower + (float(bounds[i]) - lower) * (rank - below) / count
        below += count
    return float(bounds[-1]) if bounds else math.nan


class CanaryAnalyzer:
    """One step's analysis: `start()` before the pause, `finish()` after it."""

    def __init__(self, metrics: CanaryMetrics, settings: CanaryAnalysisSettings) -> None:
        self.metrics = metrics
        self.settings = settings
        self.results: list[AnalysisResult] = []

    def start(self) -> object:
        return self.metrics.mark()

    def finish(self, marker: object, step_percent: int, candidate: str, stable: Sequence[str]) -> AnalysisResult:
        """Measure, compare, record; raises CanaryAnalysisFailed on a failed verdict."""
        cand, window = self.metrics.since(marker, [candidate])
        base, _ = self.metrics.since(marker, list(stable))
        result = analyse(step_percent, self.metrics.source, window, cand, base, self.settings)
        self.results.append(result)
        if result.verdict == "fail":
            raise CanaryAnalysisFailed(f"canary analysis failed at {step_percent} %: {result.summary()}")
        return result

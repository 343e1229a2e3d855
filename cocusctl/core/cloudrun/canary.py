"""Canary metrics for the Cloud Run target without Prometheus: the router's per-revision counters.

Only the local emulator has a router whose counters cocusctl can read (`/emulator/v1/stats`): requests,
5xx and a latency histogram per revision, over everything the revision served (tag URL included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cocusctl.core.canary import (
    CanaryAnalysisFailed,
    CanaryAnalysisSettings,
    CanaryAnalyzer,
    CanaryMetrics,
    RevisionSample,
    histogram_quantile,
)
from cocusctl.core.cloudrun.api import CloudRunApi
from cocusctl.core.observability.prometheus import PrometheusCanaryMetrics, PrometheusQuery
from cocusctl.core.reporting import Reporter


@dataclass(frozen=True)
class RouterCounters:
    """One revision's counters since the router started (monotonic)."""

    requests: int
    errors: int
    bounds: tuple[float, ...]
    latency: tuple[int, ...]  # requests per bucket; the last one above the last bound


@dataclass(frozen=True)
class _Mark:
    at: float
    counters: dict[str, RouterCounters]


class RouterCanaryMetrics:
    source = "router"

    def __init__(self, api: CloudRunApi, service: str) -> None:
        self.api = api
        self.service = service

    def _counters(self) -> dict[str, RouterCounters]:
        counters = self.api.revision_stats(self.service)
        if counters is None:
            raise CanaryAnalysisFailed("the router's counters cannot be read; no metric to judge the candidate by",
                                       hint="set analysis.prometheus_url, or analysis.enabled: false")
        return counters

    def mark(self) -> object:
        return _Mark(time.monotonic(), self._counters())

    def since(self, marker: object, revisions: Sequence[str]) -> tuple[RevisionSample, float]:
        assert isinstance(marker, _Mark)
        now = self._counters()
        requests = errors = 0
        bounds: tuple[float, ...] = ()
        buckets: list[float] = []
        for rev in revisions:
            end = now.get(rev)
            if end is None:
                continue
            start = marker.counters.get(rev, RouterCounters(0, 0, end.bounds, (0,) * len(end.latency)))
            requests += end.requests - start.requests
            errors += end.errors - start.errors
            bounds = end.bounds
            delta = [float(e - s) for e, s in zip(end.latency, start.latency, strict=True)]
            buckets = [a + b for a, b in zip(buckets, delta, strict=True)] if buckets else delta
        sample = RevisionSample(revisions=list(revisions), requests=requests, errors=errors,
                                p95_s=histogram_quantile(0.95, bounds, buckets) if buckets else None)
        return sample, time.monotonic() - marker.at


def canary_analyzer(
    settings: CanaryAnalysisSettings, api: CloudRunApi, *, namespace: str, service: str,
    prometheus: Callable[[str], PrometheusQuery], reporter: Reporter,
) -> CanaryAnalyzer | None:
    """The analysis for a Cloud Run canary: Prometheus when configured, else the emulator's router counters;
    None (health checks only, said once) when disabled or when real Cloud Run has no Prometheus configured."""
    if not settings.enabled:
        return None
    metrics: CanaryMetrics
    if settings.prometheus_url:
        metrics = PrometheusCanaryMetrics(prometheus(settings.prometheus_url), namespace=namespace, service=service)
    elif api.is_emulator:
        metrics = RouterCanaryMetrics(api, service)
    else:
        reporter.warn("canary analysis off: no analysis.prometheus_url for this environment (health checks only)")
        return None
    return CanaryAnalyzer(metrics, settings)

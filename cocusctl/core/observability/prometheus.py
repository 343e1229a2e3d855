"""Canary metrics from Prometheus: the service's own request histogram, per revision, over the step."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from cocusctl.core.canary import CanaryAnalysisFailed, RevisionSample
from cocusctl.core.errors import CocusError
from cocusctl.core.observability.rules import API, HTTP, QUERY

_REVISION = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # Cloud Run and Kubernetes names: nothing to escape in a regex


class PrometheusQuery(Protocol):
    url: str

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]: ...


class PrometheusCanaryMetrics:
    """Requests and 5xx of API requests, and the p95 of /v1/query, from the same series the SLO rules use."""

    source = "prometheus"

    def __init__(self, prometheus: PrometheusQuery, *, namespace: str, service: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.prometheus = prometheus
        self.namespace = namespace
        self.service = service
        self.clock = clock

    def mark(self) -> object:
        return self.clock()

    def _value(self, expr: str) -> float | None:
        try:
            rows = self.prometheus.query(expr)
        except CocusError as exc:
            raise CanaryAnalysisFailed(f"canary metrics unavailable: {exc.message}", hint=exc.hint) from None
        values = [v for _, v in rows if not math.isnan(v)]
        return sum(values) if values else None

    def since(self, marker: object, revisions: Sequence[str]) -> tuple[RevisionSample, float]:
        assert isinstance(marker, float)
        window = max(math.ceil(self.clock() - marker), 1)
        if not all(_REVISION.match(r) for r in revisions):
            raise CanaryAnalysisFailed(f"unexpected revision names {list(revisions)}")
        names = "|".join(revisions)
        sel = f'namespace="{self.namespace}", service="{self.service}", revision=~"{names}"'
        requests = self._value(f"sum(increase({HTTP}_count{{{sel}, {API}}}[{window}s]))") or 0.0
        errors = self._value(f'sum(increase({HTTP}_count{{{sel}, {API}, status=~"5.."}}[{window}s]))') or 0.0
        p95 = self._value(f"histogram_quantile(0.95, sum by (le) (rate({HTTP}_bucket{{{sel}, {QUERY}}}[{window}s])))")
        return RevisionSample(revisions=list(revisions), requests=round(requests, 3), errors=round(errors, 3),
                              p95_s=p95), float(window)

"""Canary analysis: the verdict rules, the histogram quantile, the router and Prometheus sources' arithmetic,
and the deployer restoring traffic when a step's analysis fails."""

from __future__ import annotations

import pytest

from cocusctl.core.canary import (
    CanaryAnalysisFailed,
    CanaryAnalysisSettings,
    CanaryAnalyzer,
    RevisionSample,
    analyse,
    histogram_quantile,
)
from cocusctl.core.cloudrun.canary import RouterCanaryMetrics, RouterCounters
from cocusctl.core.observability.prometheus import PrometheusCanaryMetrics

S = CanaryAnalysisSettings()


def sample(requests: float, errors: float, p95: float | None = 0.1, rev: str = "r") -> RevisionSample:
    return RevisionSample(revisions=[rev], requests=requests, errors=errors, p95_s=p95)


@pytest.mark.parametrize(("cand", "stable", "verdict"), [
    (sample(100, 20), sample(900, 0), "fail"),          # 20 % vs 0 %
    (sample(100, 2), sample(900, 0), "pass"),           # 2 % is within the 2-point allowance
    (sample(100, 3), sample(900, 9), "pass"),           # 3 % vs 1 %
    (sample(100, 0, p95=0.4), sample(900, 0, p95=0.1), "fail"),   # p95 4x
    (sample(100, 0, p95=0.04), sample(900, 0, p95=0.01), "pass"),  # 4x, but only 30 ms more
    (sample(100, 0, p95=None), sample(900, 0), "pass"),  # no latency from this source
    (sample(10, 10), sample(900, 0), "inconclusive"),   # too few requests to judge
])
def test_verdicts(cand, stable, verdict):
    assert analyse(10, "router", 30, cand, stable, S).verdict == verdict


def test_a_failed_check_says_why():
    result = analyse(10, "router", 30, sample(100, 20), sample(900, 0), S)
    assert result.summary() == "5xx ratio 20.0% vs stable 0.0% (limit 2.0%)"
    assert [c.passed for c in result.checks] == [False, True]


def test_histogram_quantile_interpolates_like_prometheus():
    assert histogram_quantile(0.95, [0.1, 0.5, 1.0], [90, 5, 5, 0]) == pytest.approx(0.5)
    assert histogram_quantile(0.5, [1, 2], [0, 10, 0]) == pytest.approx(1.5)
    assert histogram_quantile(0.99, [1, 2], [0, 0, 4]) == 2  # above the last bound: the last bound
    assert histogram_quantile(0.95, [1, 2], [0, 0, 0]) is None


class FakeStats:
    is_emulator = True

    def __init__(self) -> None:
        self.counters: dict[str, RouterCounters] = {}

    def revision_stats(self, service):
        return dict(self.counters)


def test_router_metrics_count_only_what_happened_during_the_step():
    api = FakeStats()
    bounds = (0.1, 1.0)
    api.counters = {"stable": RouterCounters(1000, 5, bounds, (990, 10, 0))}
    metrics = RouterCanaryMetrics(api, "svc")  # type: ignore[arg-type]
    marker = metrics.mark()
    api.counters = {"stable": RouterCounters(1900, 5, bounds, (1880, 20, 0)),
                    "cand": RouterCounters(100, 20, bounds, (80, 0, 20))}
    stable, _ = metrics.since(marker, ["stable"])
    cand, window = metrics.since(marker, ["cand"])
    assert (stable.requests, stable.errors) == (900, 0)
    assert (cand.requests, cand.errors, cand.p95_s) == (100, 20, 1.0)
    assert stable.p95_s == pytest.approx(0.1 * 855 / 890)  # rank 855 of the 890 requests below 0.1 s
    assert window >= 0


def test_unreadable_router_counters_fail_closed():
    api = FakeStats()
    api.revision_stats = lambda service: None  # type: ignore[method-assign]
    with pytest.raises(CanaryAnalysisFailed, match="cannot be read"):
        RouterCanaryMetrics(api, "svc").mark()  # type: ignore[arg-type]


class FakePrometheus:
    url = "http://prom"

    def __init__(self) -> None:
        self.queries: list[str] = []

    def query(self, expr):
        self.queries.append(expr)
        if expr.startswith("histogram_quantile"):
            return [({}, 0.25)]
        return [({}, 12.0 if 'status=~"5.."' in expr else 60.0)]


def test_prometheus_metrics_select_the_service_and_revisions_over_the_step():
    prom = FakePrometheus()
    clock = iter([100.0, 130.2]).__next__
    metrics = PrometheusCanaryMetrics(prom, namespace="local-staging", service="cocus-rag", clock=clock)
    got, window = metrics.since(metrics.mark(), ["cocus-rag-a", "cocus-rag-b"])
    assert (got.requests, got.errors, got.p95_s, window) == (60.0, 12.0, 0.25, 31.0)
    sel = 'namespace="local-staging", service="cocus-rag", revision=~"cocus-rag-a|cocus-rag-b"'
    assert prom.queries[0] == f'sum(increase(cocus_http_request_duration_seconds_count{{{sel}, route=~"/v1/.+"}}[31s]))'
    assert 'route="/v1/query"' in prom.queries[2] and "[31s]" in prom.queries[2]


def test_the_analyzer_records_every_step_and_raises_on_failure():
    api = FakeStats()
    bounds = (0.1,)
    api.counters = {}
    analyzer = CanaryAnalyzer(RouterCanaryMetrics(api, "svc"), S)  # type: ignore[arg-type]
    marker = analyzer.start()
    api.counters = {"s": RouterCounters(900, 0, bounds, (900, 0)), "c": RouterCounters(100, 1, bounds, (100, 0))}
    assert analyzer.finish(marker, 10, "c", ["s"]).verdict == "pass"
    marker = analyzer.start()
    api.counters = {"s": RouterCounters(1800, 0, bounds, (1800, 0)), "c": RouterCounters(200, 51, bounds, (200, 0))}
    with pytest.raises(CanaryAnalysisFailed) as err:
        analyzer.finish(marker, 50, "c", ["s"])
    assert err.value.exit_code == 11
    assert [r.verdict for r in analyzer.results] == ["pass", "fail"]

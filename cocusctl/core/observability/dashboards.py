"""Grafana dashboards as code (grafana-foundation-sdk, Grafana 11 schema): infrastructure and RAG.

Panels are declared as data (`Row`, `PanelSpec`, `Query`) and built with the SDK's builders, so the same
declarations give the JSON files and the list of PromQL expressions the tests run against a real Prometheus.
Every panel queries the `${datasource}` variable; `namespace`, `service` and `revision` filter the series.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from cocusctl.core.errors import NotAvailableError
from cocusctl.core.observability.rules import HTTP, num
from cocusctl.core.observability.slo import SloSpec

SDK_HINT = "pip install 'cocusctl[observability]' (grafana-foundation-sdk==1769699379!11.6.0)"

SERVICE_SEL = 'namespace=~"$namespace", service=~"$service"'
SEL = f'{SERVICE_SEL}, revision=~"$revision"'
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    table: bool = False  # an instant query shown as a table (labels as columns)


@dataclass(frozen=True)
class PanelSpec:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: Literal["timeseries", "stat", "table"] = "timeseries"
    description: str = ""
    thresholds: tuple[tuple[float, str], ...] = ()  # (value, colour) above the base colour
    base_colour: str = "green"


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[PanelSpec, ...]


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = field(default=("cocus",))

    def expressions(self) -> list[tuple[str, str]]:
        """(panel title, PromQL) for every query of every panel."""
        return [(p.title, q.expr) for r in self.rows for p in r.panels for q in p.queries]


def _quantiles(metric: str, selector: str, by: str = "", qs: tuple[float, ...] = (0.5, 0.95, 0.99)) -> tuple[Query, ...]:
    group = f"le, {by}" if by else "le"
    suffix = f" {{{{{by}}}}}" if by else ""
    return tuple(Query(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{selector}}}[{RATE}])))",
                       f"p{num(q * 100)}{suffix}") for q in qs)


def rag_dashboard(spec: SloSpec) -> DashboardSpec:
    availability, latency = spec.slos["availability"], spec.slos["latency"]
    api = f'{SEL}, route=~"/v1/.+"'
    query = f'{SEL}, route="/v1/query"'

    def slo_record(w: str, slo: str) -> str:
        return f'cocus:slo_errors:ratio_rate{w}{{slo="{slo}", {SERVICE_SEL}}}'

    return DashboardSpec(
        uid="cocus-rag",
        title="cocus RAG service",
        description="Requests, latency, cache, retrieval and generation, errors by kind, and the index each "
                    "revision serves. SLOs from observability/slo.yaml.",
        tags=("cocus", "rag"),
        rows=(
            Row("Service level", (
                PanelSpec("Availability (1h)", (Query(f"1 - {slo_record(w='1h', slo='availability')}",
                                                      "{{service}}"),),
                          unit="percentunit", kind="stat",
                          thresholds=((availability.objective, "green"),), base_colour="red",
                          description=f"Share of API requests without 5xx; objective {num(availability.objective * 100)} %."),
                PanelSpec(f"Queries within {num(latency.threshold_seconds or 0)} s (1h)",
                          (Query(f"1 - {slo_record(w='1h', slo='latency')}", "{{service}}"),),
                          unit="percentunit", kind="stat",
                          thresholds=((latency.objective, "green"),), base_colour="red",
                          description=f"Objective {num(latency.objective * 100)} %."),
                PanelSpec("Error budget burn rate", tuple(
                    Query(f"{slo_record(w=w, slo=name)} / {num(slo.budget)}", f"{name} {w}")
                    for name, slo in spec.slos.items() for w in ("1h", "6h")),
                    thresholds=((1, "orange"), (6, "red")),
                    description="1 spends the budget exactly over the SLO window; the page fires at 14.4 (1h) "
                                "and 6 (6h) with the short window agreeing."),
            )),
            Row("Traffic", (
                PanelSpec("API requests by status", (
                    Query(f"sum by (status) (rate({HTTP}_count{{{api}}}[{RATE}]))", "{{status}}"),), unit="reqps"),
                PanelSpec("Traffic share by revision", (
                    Query(f"sum by (revision) (rate({HTTP}_count{{{api}}}[{RATE}]))\n/ ignoring(revision) "
                          f"group_left\nsum (rate({HTTP}_count{{{api}}}[{RATE}]))", "{{revision}}"),),
                    unit="percentunit"),
                PanelSpec("Requests in flight", (
                    Query(f"sum by (revision) (cocus_http_requests_in_flight{{{SEL}}})", "{{revision}}"),)),
            )),
            Row("Latency", (
                PanelSpec("Query latency", _quantiles(HTTP, query), unit="s",
                          thresholds=((latency.threshold_seconds or 0, "red"),)),
                PanelSpec("Query latency p95 by revision", _quantiles(HTTP, query, "revision", (0.95,)), unit="s"),
                PanelSpec("Retrieval time", _quantiles("cocus_retrieval_duration_seconds", SEL, qs=(0.5, 0.95)),
                          unit="s"),
                PanelSpec("Generation time by generator",
                          _quantiles("cocus_generation_duration_seconds", SEL, "generator", (0.5, 0.95)), unit="s"),
            )),
            Row("Cache", (
                PanelSpec("Cache hit ratio", (
                    Query(f'sum (rate(cocus_cache_requests_total{{{SEL}, result="hit"}}[{RATE}]))\n/\n'
                          f"sum (rate(cocus_cache_requests_total{{{SEL}}}[{RATE}]))", "hit ratio"),),
                    unit="percentunit"),
                PanelSpec("Cache lookups by result", (
                    Query(f"sum by (result) (rate(cocus_cache_requests_total{{{SEL}}}[{RATE}]))", "{{result}}"),),
                    unit="ops"),
            )),
            Row("Errors", (
                PanelSpec("Errors by status", (
                    Query(f'sum by (status) (rate({HTTP}_count{{{SEL}, status=~"[45].."}}[{RATE}]))', "{{status}}"),),
                    unit="reqps"),
                PanelSpec("5xx ratio by revision", (
                    Query(f"cocus:api_5xx:ratio_rate{spec.alerts.error_ratio.window}{{{SEL}}}", "{{revision}}"),),
                    unit="percentunit", thresholds=((spec.alerts.error_ratio.threshold, "red"),)),
                PanelSpec("Errors by kind", (
                    Query(f"sum by (generator) (rate(cocus_generation_errors_total{{{SEL}}}[{RATE}]))",
                          "generator {{generator}}"),
                    Query(f"sum by (operation) (rate(cocus_redis_errors_total{{{SEL}}}[{RATE}]))",
                          "redis {{operation}}"),
                    Query(f"sum (rate(cocus_auth_failures_total{{{SEL}}}[{RATE}]))", "auth failures (401)"),
                    Query(f"sum (rate(cocus_rate_limited_total{{{SEL}}}[{RATE}]))", "rate limited (429)"),
                ), unit="ops"),
            )),
            Row("Index", (
                PanelSpec("Index and build per revision", (Query(
                    f"max by (revision, version, git_revision, index_version, embedding_model, generator) "
                    f"(cocus_build_info{{{SEL}}})", table=True),), kind="table"),
                PanelSpec("Indexed chunks and documents", (
                    Query(f"max by (revision) (cocus_index_chunks{{{SEL}}})", "chunks {{revision}}"),
                    Query(f"max by (revision) (cocus_index_documents{{{SEL}}})", "documents {{revision}}"),
                ), kind="stat"),
            )),
        ),
    )


def infra_dashboard(spec: SloSpec) -> DashboardSpec:
    job = f'job="{spec.scrape_job}", {SEL}'
    return DashboardSpec(
        uid="cocus-infra",
        title="cocus infrastructure",
        description="Instances and autoscaling, restarts, CPU and memory of the service's instances and hosts.",
        tags=("cocus", "infrastructure"),
        rows=(
            Row("Instances and autoscaling", (
                PanelSpec("Instances vs autoscaler bounds", (
                    Query(f"sum by (revision) (cocus:instances:count{{{SERVICE_SEL}}})", "instances {{revision}}"),
                    Query(f"max by (revision) (cocus:instances:max{{{SERVICE_SEL}}})", "max {{revision}}"),
                    Query(f"max by (revision) (cocus:instances:min{{{SERVICE_SEL}}})", "min {{revision}}"),
                ), description="From the platform: the Cloud Run emulator, or kube-state-metrics' HPA."),
                PanelSpec("Instances scraped and up", (
                    Query(f"sum by (revision) (up{{{job}}})", "{{revision}}"),)),
                PanelSpec("Restarts (in the time range)", (
                    Query(f"sum by (revision) (changes(process_start_time_seconds{{{job}}}[$__range]))",
                          "{{revision}}"),), kind="stat"),
            )),
            Row("Resources per instance", (
                PanelSpec("CPU", (
                    Query(f"sum by (revision, instance) (rate(process_cpu_seconds_total{{{job}}}[{RATE}]))",
                          "{{revision}} {{instance}}"),), unit="short", description="CPU seconds per second (cores)."),
                PanelSpec("Memory (resident)", (
                    Query(f"sum by (revision, instance) (process_resident_memory_bytes{{{job}}})",
                          "{{revision}} {{instance}}"),), unit="bytes"),
                PanelSpec("Concurrent requests", (
                    Query(f"sum by (revision, instance) (cocus_http_requests_in_flight{{{SEL}}})",
                          "{{revision}} {{instance}}"),),
                    description="What the autoscaler scales on (Cloud Run concurrency, HPA custom metric)."),
                PanelSpec("Open file descriptors", (
                    Query(f"sum by (revision, instance) (process_open_fds{{{job}}})", "{{revision}} {{instance}}"),)),
            )),
            Row("Hosts", (
                PanelSpec("Host CPU busy", (
                    Query(f'1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle"}}[{RATE}]))',
                          "{{instance}}"),), unit="percentunit"),
                PanelSpec("Host memory used", (
                    Query("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{instance}}"),),
                    unit="percentunit"),
            )),
        ),
    )


def dashboards(spec: SloSpec) -> list[DashboardSpec]:
    return [infra_dashboard(spec), rag_dashboard(spec)]


def to_json(dash: DashboardSpec) -> dict[str, Any]:
    """The dashboard as Grafana JSON, built with the foundation SDK's builders."""
    try:
        from grafana_foundation_sdk.builders import dashboard as gd
        from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
        from grafana_foundation_sdk.cog.encoder import JSONEncoder
        from grafana_foundation_sdk.models.dashboard import (
            DataSourceRef,
            Threshold,
            ThresholdsMode,
            VariableRefresh,
            VariableSort,
        )
        from grafana_foundation_sdk.models.prometheus import PromQueryFormat
    except ImportError:
        raise NotAvailableError("grafana-foundation-sdk is not installed", hint=SDK_HINT) from None

    ds = DataSourceRef(type_val="prometheus", uid="${datasource}")
    builders: dict[str, Any] = {"timeseries": timeseries.Panel, "stat": stat.Panel, "table": table.Panel}

    def variable(name: str, query: str, *, multi: bool) -> gd.QueryVariable:
        v = (gd.QueryVariable(name).label(name).datasource(ds).query(query)
             .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC))
        return v.multi(True).include_all(True).all_value(".*") if multi else v.include_all(True).all_value(".*")

    board = (
        gd.Dashboard(dash.title).uid(dash.uid).description(dash.description).tags(list(dash.tags))
        .time("now-1h", "now").refresh("30s").timezone("browser").editable()
        .with_variable(gd.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(variable("namespace", "label_values(cocus_ready, namespace)", multi=False))
        .with_variable(variable("service", 'label_values(cocus_ready{namespace=~"$namespace"}, service)', multi=False))
        .with_variable(variable("revision", 'label_values(cocus_ready{namespace=~"$namespace", '
                                            'service=~"$service"}, revision)', multi=True))
    )
    panel_id = 0
    for row in dash.rows:
        panel_id += 1
        board = board.with_row(gd.Row(row.title).id(panel_id))
        for p in row.panels:
            panel_id += 1
            builder = builders[p.kind]().id(panel_id).title(p.title).datasource(ds).unit(p.unit)
            if p.description:
                builder = builder.description(p.description)
            steps = [Threshold(value=None, color=p.base_colour)] + [Threshold(value=v, color=c) for v, c in p.thresholds]
            builder = builder.thresholds(gd.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
            for i, q in enumerate(p.queries):
                target = prometheus.Dataquery().expr(q.expr).ref_id(chr(ord("A") + i))
                if q.table:
                    target = target.instant().format(PromQueryFormat.TABLE)
                elif q.legend:
                    target = target.legend_format(q.legend)
                builder = builder.with_target(target)
            board = board.with_panel(builder)
    return json.loads(json.dumps(board.build(), cls=JSONEncoder, sort_keys=True))

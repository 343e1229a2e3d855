"""Prometheus recording and alerting rules for the service, built from the SLO file.

The rules aggregate by the target labels `namespace`, `service` and `revision` (see `slo.yaml`). Ratios
whose numerator has no series yet (no 5xx so far) evaluate to 0 rather than to nothing, so dashboards show
a flat line and a "no data" is a real absence of traffic.
"""

from __future__ import annotations

from typing import Any

from cocusctl.core.observability.slo import BurnRateAlert, Slo, SloSpec

SERVICE = "namespace, service"
REVISION = "namespace, service, revision"
HTTP = "cocus_http_request_duration_seconds"
API = 'route=~"/v1/.+"'
QUERY = 'route="/v1/query"'
SLO_RECORD = "cocus:slo_errors:ratio_rate{window}"
SEVERITY_WORD = {"page": "Fast", "ticket": "Slow"}


def num(value: float) -> str:
    """A float as PromQL and humans write it: 0.005, 14.4, 6 (never 6.0 or 0.0050000001)."""
    text = f"{round(value, 10):.10f}".rstrip("0").rstrip(".")
    return text or "0"


def le_matcher(seconds: float) -> str:
    """The `le` matcher of a bucket bound: the client writes 0.5 / 1.0; Prometheus 3 normalises 1.0 to 1."""
    if float(seconds).is_integer():
        return f'le=~"{int(seconds)}|{float(seconds)!r}"'
    return f'le="{float(seconds)!r}"'


def ratio_or_zero(numerator: str, denominator: str, by: str) -> str:
    """`numerator / denominator`, 0 where the numerator has no series but the denominator has."""
    return (f"(\n  sum by ({by}) ({numerator})\n  or\n  0 * sum by ({by}) ({denominator})\n)\n"
            f"/\nsum by ({by}) ({denominator})")


def availability_errors(window: str) -> str:
    return ratio_or_zero(f'rate({HTTP}_count{{{API}, status=~"5.."}}[{window}])',
                         f"rate({HTTP}_count{{{API}}}[{window}])", SERVICE)


def latency_errors(window: str, threshold_seconds: float) -> str:
    fast = f"rate({HTTP}_bucket{{{QUERY}, {le_matcher(threshold_seconds)}}}[{window}])"
    total = f"rate({HTTP}_count{{{QUERY}}}[{window}])"
    return f"1 - (\n  sum by ({SERVICE}) ({fast})\n  /\n  sum by ({SERVICE}) ({total})\n)"


def slo_recording_rules(spec: SloSpec) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    latency = spec.slos["latency"]
    for window in spec.windows():
        rules.append({"record": SLO_RECORD.format(window=window), "expr": availability_errors(window),
                      "labels": {"slo": "availability"}})
        assert latency.threshold_seconds is not None  # checked when the file is loaded
        rules.append({"record": SLO_RECORD.format(window=window),
                      "expr": latency_errors(window, latency.threshold_seconds), "labels": {"slo": "latency"}})
    return rules


def objective_text(name: str, slo: Slo) -> str:
    """The objective in words, e.g. `99.5 % of API requests (/v1/...) without a 5xx over 30d`."""
    what = ("API requests (/v1/...) without a 5xx" if name == "availability"
            else f"queries (POST /v1/query) answered within {num(slo.threshold_seconds or 0)} s")
    return f"{num(slo.objective * 100)} % of {what} over {slo.window}"


def burn_rate_alert(name: str, slo: Slo, severity: str, alert: BurnRateAlert) -> dict[str, Any]:
    budget = num(slo.budget)
    clauses = []
    for w in alert.windows:
        bound = f"({num(w.factor)} * {budget})"
        long = f'{SLO_RECORD.format(window=w.long)}{{slo="{name}"}} > {bound}'
        short = f'{SLO_RECORD.format(window=w.short)}{{slo="{name}"}} > {bound}'
        clauses.append(f"(\n  {long}\n  and\n  {short}\n)")
    windows = ", ".join(f"{num(w.factor)}x over {w.long} and {w.short}" for w in alert.windows)
    return {
        "alert": f"Cocus{name.capitalize()}{SEVERITY_WORD[severity]}Burn",
        "expr": "\nor\n".join(clauses),
        "for": alert.for_,
        "labels": {"severity": severity, "slo": name},
        "annotations": {
            "summary": f"{{{{ $labels.service }}}} in {{{{ $labels.namespace }}}} is burning its {name} "
                       "error budget",
            "description": f"Objective: {objective_text(name, slo)}. Burn rate above {windows}. Find the "
                           "revision in the error-ratio and latency panels; `cocusctl rollback` if it is new.",
        },
    }


def revision_rules(spec: SloSpec) -> list[dict[str, Any]]:
    w = spec.alerts.error_ratio.window
    return [
        {"record": f"cocus:api_requests:rate{w}", "expr": f"sum by ({REVISION}) (rate({HTTP}_count{{{API}}}[{w}]))"},
        {"record": f"cocus:api_5xx:ratio_rate{w}",
         "expr": ratio_or_zero(f'rate({HTTP}_count{{{API}, status=~"5.."}}[{w}])', f"rate({HTTP}_count{{{API}}}[{w}])",
                               REVISION)},
    ]


def platform_rules() -> list[dict[str, Any]]:
    """Instances and autoscaler bounds from whichever platform runs the service.

    The local Cloud Run emulator exports `cocus_emulator_revision_*` (per revision); on Kubernetes,
    kube-state-metrics exports the HorizontalPodAutoscaler, whose name is the service's name.
    """
    rules = []
    for record, emulator, hpa in (
        ("count", "instances", "status_current_replicas"),
        ("min", "min_instances", "spec_min_replicas"),
        ("max", "max_instances", "spec_max_replicas"),
    ):
        expr = (f"sum by ({REVISION}) (cocus_emulator_revision_{emulator})\nor\n"
                f"sum by ({SERVICE}) (\n  label_replace(kube_horizontalpodautoscaler_{hpa}, \"service\", \"$1\", "
                "\"horizontalpodautoscaler\", \"(.+)\")\n)")
        rules.append({"record": f"cocus:instances:{record}", "expr": expr})
    return rules


def alert_rules(spec: SloSpec) -> list[dict[str, Any]]:
    a = spec.alerts
    rules = [burn_rate_alert(name, slo, severity, spec.burn_rate_alerts[severity])
             for name, slo in spec.slos.items() for severity in ("page", "ticket")]
    er, ge, ru, rf = a.error_ratio, a.generator_errors, a.redis_unavailable, a.readiness_flapping
    gen_by = f"{REVISION}, generator"
    gen_errors = f"sum by ({gen_by}) (rate(cocus_generation_errors_total[{ge.window}]))"
    gen_ok = f"sum by ({gen_by}) (rate(cocus_generation_duration_seconds_count[{ge.window}]))"
    bypassed = f'rate(cocus_cache_requests_total{{result="bypass"}}[{ru.window}])'
    lookups = f"rate(cocus_cache_requests_total[{ru.window}])"
    rules += [
        {
            "alert": "CocusErrorRatioHigh",
            "expr": f"cocus:api_5xx:ratio_rate{er.window} > {num(er.threshold)}\n"
                    f"and\ncocus:api_requests:rate{er.window} > {num(er.min_requests_per_second)}",
            "for": er.for_,
            "labels": {"severity": "page"},
            "annotations": {
                "summary": "Revision {{ $labels.revision }} of {{ $labels.service }} in {{ $labels.namespace }} "
                           f"answers more than {num(er.threshold * 100)} % of API requests with 5xx",
                "description": "A single revision fails; if it is a canary or new, move traffic back with "
                               "`cocusctl rollback` or `cocusctl split-traffic`, then read its logs.",
            },
        },
        {
            "alert": "CocusGeneratorErrors",
            "expr": f"{gen_errors}\n/\n(\n  {gen_errors}\n  +\n  ({gen_ok} or 0 * {gen_errors})\n)\n"
                    f"> {num(ge.threshold)}",
            "for": ge.for_,
            "labels": {"severity": "page"},
            "annotations": {
                "summary": "Generator {{ $labels.generator }} of {{ $labels.service }} ({{ $labels.revision }}, "
                           f"{{{{ $labels.namespace }}}}) fails more than {num(ge.threshold * 100)} % of its calls",
                "description": "Queries get 502. Check the LLM endpoint, its credentials and quota; the "
                               "extractive generator needs no endpoint.",
            },
        },
        {
            "alert": "CocusRedisUnavailable",
            "expr": f"sum by ({SERVICE}) ({bypassed})\n/\nsum by ({SERVICE}) ({lookups})\n> {num(ru.threshold)}",
            "for": ru.for_,
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": "{{ $labels.service }} in {{ $labels.namespace }} answers without its Redis cache",
                "description": f"More than {num(ru.threshold * 100)} % of cache lookups bypass Redis because it "
                               "fails (see cocus_redis_errors_total by operation). Answers still work, slower "
                               "and without shared rate limits.",
            },
        },
        {
            "alert": "CocusReadinessFlapping",
            "expr": f"max by ({REVISION}, instance) (changes(cocus_ready[{rf.window}])) >= {rf.changes}\nor\n"
                    f'max by ({REVISION}, instance) (changes(up{{job="{spec.scrape_job}"}}[{rf.window}])) '
                    f">= {rf.changes}",
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": "Instance {{ $labels.instance }} of {{ $labels.service }} ({{ $labels.revision }}) "
                           f"changed readiness {rf.changes}+ times in {rf.window}",
                "description": "The instance restarts or stops answering scrapes; look at its restarts, memory "
                               "and logs (index load, OOM).",
            },
        },
        {
            "alert": "CocusAutoscalerAtMax",
            "expr": "cocus:instances:count >= cocus:instances:max\nand\ncocus:instances:max > cocus:instances:min",
            "for": a.autoscaler_at_max.for_,
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": "{{ $labels.service }} in {{ $labels.namespace }} runs at its maximum instance count",
                "description": "The autoscaler cannot add capacity; raise revision.max_instances (or the "
                               "HPA maximum) or find what made each request slower.",
            },
        },
    ]
    return rules


def rule_groups(spec: SloSpec) -> dict[str, Any]:
    """The rule file's content (`groups:`); the same structure is a PrometheusRule's `spec`."""
    return {"groups": [
        {"name": f"{spec.service}.slo", "rules": slo_recording_rules(spec)},
        {"name": f"{spec.service}.revisions", "rules": revision_rules(spec)},
        {"name": f"{spec.service}.platform", "rules": platform_rules()},
        {"name": f"{spec.service}.alerts", "rules": alert_rules(spec)},
    ]}

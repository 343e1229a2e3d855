"""Dashboard PromQL as Grafana sends it to Prometheus: its variables replaced by concrete values."""

from __future__ import annotations

GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$namespace": ".*", "$service": ".*",
                     "$revision": ".*"}


def as_grafana_sends(expr: str, **values: str) -> str:
    """`expr` with Grafana's variables replaced (`values` override by name, e.g. namespace="local-staging")."""
    replacements = {**GRAFANA_VARIABLES, **{f"${k}": v for k, v in values.items()}}
    for name in sorted(replacements, key=len, reverse=True):  # `$__rate_interval` before `$__range`
        expr = expr.replace(name, replacements[name])
    return expr

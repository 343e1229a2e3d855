"""Observability as code: the service's SLOs (observability/slo.yaml) turned into Prometheus rules and
Grafana dashboards, and the local monitoring stack that evaluates them."""

# Everything this module derives from observability/slo.yaml — and nothing that needs a provider — so the
# fixture root module tests/fixtures/terraform/monitoring evaluates this very file with real terraform.
locals {
  slo = yamldecode(file("${path.module}/observability/slo.yaml"))

  # Prometheus durations ("5m", "1h", "3d") in seconds, for every duration the SLO file uses.
  unit_seconds = { s = 1, m = 60, h = 3600, d = 86400 }
  durations = distinct(flatten([
    [for s in values(local.slo.slos) : s.window],
    [for a in values(local.slo.burn_rate_alerts) : concat([a["for"]], [for w in a.windows : [w.long, w.short]])],
    [for a in values(local.slo.alerts) : [for key in ["window", "for"] : a[key] if contains(keys(a), key)]],
  ]))
  seconds = {
    for d in local.durations : d => tonumber(regex("^([0-9]+)[smhd]$", d)[0]) * local.unit_seconds[regex("([smhd])$", d)[0]]
  }

  # The service's JSON lines on stdout, as Cloud Logging stores them: `httpRequest` and `severity` lifted
  # to the LogEntry, the rest under jsonPayload (service/cocus_rag/logs.py, middleware.py).
  stdout_log = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${var.service_name}\"",
    "logName=\"projects/${var.project_id}/logs/run.googleapis.com%2Fstdout\"",
  ])
  access_log = "${local.stdout_log} AND jsonPayload.logger=\"cocus_rag.access\""

  # The bounds of the service's latency histogram (cocus_http_request_duration_seconds): the latency SLO's
  # threshold must be one of them, so the distribution cut is exact.
  latency_bounds = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

  # Log-based metrics (logging.googleapis.com/user/<service>/<key>): counters unless a value_extractor is given.
  log_metrics = {
    api_requests = {
      description     = "API requests (/v1/...) in the service's access log, by HTTP status."
      filter          = "${local.access_log} AND httpRequest.requestUrl=~\"^/v1/\""
      status_label    = true
      value_extractor = null
      unit            = "1"
    }
    api_server_errors = {
      description     = "API requests (/v1/...) answered with a server error (5xx)."
      filter          = "${local.access_log} AND httpRequest.requestUrl=~\"^/v1/\" AND httpRequest.status>=500"
      status_label    = true
      value_extractor = null
      unit            = "1"
    }
    query_latencies = {
      description     = "Latency of POST /v1/query, seconds, from httpRequest.latency."
      filter          = "${local.access_log} AND httpRequest.requestUrl=\"/v1/query\""
      status_label    = false
      value_extractor = "REGEXP_EXTRACT(httpRequest.latency, \"^([0-9.]+)s$\")"
      unit            = "s"
    }
    generator_errors = {
      description     = "Queries failed by the generator (502 generator_unavailable)."
      filter          = "${local.access_log} AND httpRequest.requestUrl=\"/v1/query\" AND httpRequest.status=502"
      status_label    = false
      value_extractor = null
      unit            = "1"
    }
    redis_failures = {
      description     = "Redis failures that made the service bypass its cache (one line per outage and instance)."
      filter          = "${local.stdout_log} AND jsonPayload.logger=\"cocus_rag.redis\" AND severity=WARNING"
      status_label    = false
      value_extractor = null
      unit            = "1"
    }
    index_load_failures = {
      description     = "Instances whose index failed to load: /readyz stays 503, the instance never serves."
      filter          = "${local.stdout_log} AND jsonPayload.logger=\"cocus_rag\" AND severity=ERROR AND jsonPayload.message=~\"^index load failed\""
      status_label    = false
      value_extractor = null
      unit            = "1"
    }
  }

  # Cloud Monitoring SLOs: the same objectives and windows as the Prometheus rules.
  slos = {
    for name, s in local.slo.slos : name => {
      goal                = s.objective
      rolling_period_days = local.seconds[s.window] / 86400
      display_name        = name == "availability" ? "${s.objective * 100} % of API requests without 5xx" : "${s.objective * 100} % of queries within ${s.threshold_seconds} s"
      threshold_seconds   = lookup(s, "threshold_seconds", null)
    }
  }

  # One alert policy per SLO and burn-rate window pair: long AND short window above factor (Cloud Monitoring
  # combines the conditions of a policy with one operator, so the "or" of the Prometheus rule is two policies).
  burn_rate_policies = merge([
    for name in keys(local.slo.slos) : {
      for p in flatten([
        for severity, a in local.slo.burn_rate_alerts : [
          for w in a.windows : { severity = severity, for = a["for"], long = w.long, short = w.short, factor = w.factor }
        ]
      ]) :
      "${name}-${p.long}-${p.short}" => {
        slo          = name
        severity     = p.severity
        display_name = "${var.service_name}: ${name} error budget burn above ${p.factor}x (${p.long} and ${p.short})"
        factor       = p.factor
        long_s       = local.seconds[p.long]
        short_s      = local.seconds[p.short]
        duration_s   = local.seconds[p["for"]]
      }
    }
  ]...)

  # Ratio alerts per revision: numerator / API requests (log-based metrics) over the window, above the
  # threshold for `for`; with min_rps > 0 also more API requests per second than that (same revision).
  ratio_policies = {
    error_ratio = {
      display_name = "5xx ratio of a revision above ${local.slo.alerts.error_ratio.threshold * 100} %"
      numerator    = "api_server_errors"
      threshold    = local.slo.alerts.error_ratio.threshold
      window_s     = local.seconds[local.slo.alerts.error_ratio.window]
      duration_s   = local.seconds[local.slo.alerts.error_ratio["for"]]
      min_rps      = local.slo.alerts.error_ratio.min_requests_per_second
      severity     = "page"
      action       = "A single revision fails; if it is a canary or new, move traffic back with `cocusctl rollback` or `cocusctl split-traffic`, then read its logs."
    }
    generator_errors = {
      display_name = "generator errors above ${local.slo.alerts.generator_errors.threshold * 100} % of API requests"
      numerator    = "generator_errors"
      threshold    = local.slo.alerts.generator_errors.threshold
      window_s     = local.seconds[local.slo.alerts.generator_errors.window]
      duration_s   = local.seconds[local.slo.alerts.generator_errors["for"]]
      min_rps      = 0
      severity     = "page"
      action       = "Queries get 502. Check the LLM endpoint, its credentials and quota."
    }
  }

  # Service log lines that must not keep appearing. Redis: the service logs one warning per outage and
  # instance, then bypasses Redis for its back-off, so warnings in every minute of the window mean Redis
  # keeps failing. Index: an instance whose index fails to load never becomes ready.
  log_event_policies = {
    redis_unavailable = {
      display_name = "answering without Redis"
      metric       = "redis_failures"
      alignment_s  = 60
      duration_s   = local.seconds[local.slo.alerts.redis_unavailable["for"]]
      group_by     = "resource.label.service_name"
    }
    index_load_failures = {
      display_name = "instances failing readiness (index load failed)"
      metric       = "index_load_failures"
      alignment_s  = local.seconds[local.slo.alerts.readiness_flapping.window]
      duration_s   = 0
      group_by     = "resource.label.revision_name"
    }
  }

  # Prometheus severity -> Cloud Monitoring alert policy severity.
  policy_severity = { page = "CRITICAL", ticket = "WARNING" }
}

# Cloud Monitoring for the Cloud Run service: log-based metrics from its JSON logs, the SLOs of
# observability/slo.yaml with multi-window burn-rate alerts, threshold alerts and an uptime check.
# Derived values live in slo.tf.

resource "google_logging_metric" "this" {
  for_each = local.log_metrics

  project     = var.project_id
  name        = "${var.service_name}/${each.key}"
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = each.value.value_extractor == null ? "INT64" : "DISTRIBUTION"
    unit         = each.value.unit
    display_name = "${var.service_name} ${replace(each.key, "_", " ")}"

    dynamic "labels" {
      for_each = each.value.status_label ? ["status"] : []
      content {
        key         = labels.value
        value_type  = "STRING"
        description = "HTTP status code"
      }
    }
  }

  label_extractors = each.value.status_label ? { status = "EXTRACT(httpRequest.status)" } : {}
  value_extractor  = each.value.value_extractor

  dynamic "bucket_options" {
    for_each = each.value.value_extractor == null ? [] : [local.latency_bounds]
    content {
      explicit_buckets {
        bounds = bucket_options.value
      }
    }
  }
}

locals {
  metric_type = { for k, m in google_logging_metric.this : k => "logging.googleapis.com/user/${m.name}" }
  revision    = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.service_name}\""
}

resource "google_monitoring_custom_service" "this" {
  project      = var.project_id
  service_id   = var.service_name
  display_name = "${var.service_name} (Cloud Run)"
}

resource "google_monitoring_slo" "availability" {
  project             = var.project_id
  service             = google_monitoring_custom_service.this.service_id
  slo_id              = "availability"
  display_name        = local.slos.availability.display_name
  goal                = local.slos.availability.goal
  rolling_period_days = local.slos.availability.rolling_period_days

  request_based_sli {
    good_total_ratio {
      total_service_filter = "metric.type=\"${local.metric_type.api_requests}\" AND ${local.revision}"
      bad_service_filter   = "metric.type=\"${local.metric_type.api_server_errors}\" AND ${local.revision}"
    }
  }
}

resource "google_monitoring_slo" "latency" {
  project             = var.project_id
  service             = google_monitoring_custom_service.this.service_id
  slo_id              = "latency"
  display_name        = local.slos.latency.display_name
  goal                = local.slos.latency.goal
  rolling_period_days = local.slos.latency.rolling_period_days

  request_based_sli {
    distribution_cut {
      distribution_filter = "metric.type=\"${local.metric_type.query_latencies}\" AND ${local.revision}"
      range {
        max = local.slos.latency.threshold_seconds
      }
    }
  }

  lifecycle {
    precondition {
      condition     = contains(local.latency_bounds, local.slos.latency.threshold_seconds)
      error_message = "The latency threshold must be a bucket bound of the service's histogram (latency_bounds in slo.tf)."
    }
  }
}

locals {
  slo_names = {
    availability = google_monitoring_slo.availability.name
    latency      = google_monitoring_slo.latency.name
  }
}

# Long window AND short window burning faster than the factor.
resource "google_monitoring_alert_policy" "burn_rate" {
  for_each = local.burn_rate_policies

  project               = var.project_id
  display_name          = each.value.display_name
  combiner              = "AND"
  severity              = local.policy_severity[each.value.severity]
  notification_channels = var.notification_channels
  user_labels           = { severity = each.value.severity, slo = each.value.slo }

  dynamic "conditions" {
    for_each = { long = each.value.long_s, short = each.value.short_s }
    content {
      display_name = "burn rate over ${conditions.value}s above ${each.value.factor}"
      condition_threshold {
        filter          = "select_slo_burn_rate(\"${local.slo_names[each.value.slo]}\", \"${conditions.value}s\")"
        comparison      = "COMPARISON_GT"
        threshold_value = each.value.factor
        duration        = "${each.value.duration_s}s"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The ${each.value.slo} SLO of ${var.service_name} burns its error budget. Find the revision in the log-based metrics by revision; `cocusctl rollback` if it is new."
  }
}

resource "google_monitoring_alert_policy" "ratio" {
  for_each = local.ratio_policies

  project               = var.project_id
  display_name          = "${var.service_name}: ${each.value.display_name}"
  combiner              = "AND_WITH_MATCHING_RESOURCE"
  severity              = local.policy_severity[each.value.severity]
  notification_channels = var.notification_channels
  user_labels           = { severity = each.value.severity }

  dynamic "conditions" {
    for_each = concat([{ metric = each.value.numerator, denominator = "api_requests", threshold = each.value.threshold }],
    each.value.min_rps > 0 ? [{ metric = "api_requests", denominator = null, threshold = each.value.min_rps }] : [])
    content {
      display_name = conditions.value.denominator == null ? "API requests per second" : "${conditions.value.metric} per API request"
      condition_threshold {
        filter             = "metric.type=\"${local.metric_type[conditions.value.metric]}\" AND ${local.revision}"
        denominator_filter = conditions.value.denominator == null ? null : "metric.type=\"${local.metric_type[conditions.value.denominator]}\" AND ${local.revision}"
        comparison         = "COMPARISON_GT"
        threshold_value    = conditions.value.threshold
        duration           = "${each.value.duration_s}s"

        aggregations {
          alignment_period     = "${each.value.window_s}s"
          per_series_aligner   = "ALIGN_RATE"
          cross_series_reducer = "REDUCE_SUM"
          group_by_fields      = ["resource.label.revision_name"]
        }
        dynamic "denominator_aggregations" {
          for_each = conditions.value.denominator == null ? [] : ["denominator"]
          content {
            alignment_period     = "${each.value.window_s}s"
            per_series_aligner   = "ALIGN_RATE"
            cross_series_reducer = "REDUCE_SUM"
            group_by_fields      = ["resource.label.revision_name"]
          }
        }
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = each.value.action
  }
}

resource "google_monitoring_alert_policy" "log_events" {
  for_each = local.log_event_policies

  project               = var.project_id
  display_name          = "${var.service_name}: ${each.value.display_name}"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  user_labels           = { severity = "ticket" }

  conditions {
    display_name = "${each.value.metric} logged"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_type[each.value.metric]}\" AND ${local.revision}"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "${each.value.duration_s}s"
      aggregations {
        alignment_period     = "${each.value.alignment_s}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = [each.value.group_by]
      }
    }
  }
}

# Active + idle instances of a revision at its maximum (only where the autoscaler has room: max > min).
resource "google_monitoring_alert_policy" "autoscaler_at_max" {
  count = var.max_instances > var.min_instances ? 1 : 0

  project               = var.project_id
  display_name          = "${var.service_name}: a revision runs at its maximum of ${var.max_instances} instances"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  user_labels           = { severity = "ticket" }

  conditions {
    display_name = "instances per revision"
    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/container/instance_count\" AND ${local.revision}"
      comparison      = "COMPARISON_GT"
      threshold_value = var.max_instances - 0.5
      duration        = "${local.seconds[local.slo.alerts.autoscaler_at_max["for"]]}s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.revision_name"]
      }
    }
  }
}

resource "google_monitoring_uptime_check_config" "healthz" {
  count = var.uptime_check_host == "" ? 0 : 1

  project      = var.project_id
  display_name = "${var.service_name} /healthz"
  timeout      = "10s"
  period       = "60s"
  checker_type = "STATIC_IP_CHECKERS"

  http_check {
    path         = "/healthz"
    port         = 443
    use_ssl      = true
    validate_ssl = true
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
    dynamic "service_agent_authentication" {
      for_each = var.uptime_check_authenticated ? ["OIDC_TOKEN"] : []
      content {
        type = service_agent_authentication.value
      }
    }
  }

  monitored_resource {
    type   = "uptime_url"
    labels = { project_id = var.project_id, host = var.uptime_check_host }
  }
}

resource "google_monitoring_alert_policy" "uptime" {
  count = var.uptime_check_host == "" ? 0 : 1

  project               = var.project_id
  display_name          = "${var.service_name}: /healthz failing from most checker regions"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = var.notification_channels
  user_labels           = { severity = "page" }

  conditions {
    display_name = "uptime check passed (fraction of regions)"
    condition_threshold {
      filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.label.check_id=\"${google_monitoring_uptime_check_config.healthz[0].uptime_check_id}\""
      comparison      = "COMPARISON_LT"
      threshold_value = 0.5
      duration        = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_FRACTION_TRUE"
        cross_series_reducer = "REDUCE_MEAN"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }
}

output "slo_ids" {
  description = "Cloud Monitoring SLO resource names, by SLO."
  value       = local.slo_names
}

output "log_metric_types" {
  description = "Metric types of the log-based metrics, by key."
  value       = local.metric_type
}

output "alert_policy_ids" {
  description = "Alert policy resource names."
  value = concat(
    [for p in google_monitoring_alert_policy.burn_rate : p.name],
    [google_monitoring_alert_policy.error_ratio.name, google_monitoring_alert_policy.generator_errors.name,
    google_monitoring_alert_policy.redis_unavailable.name, google_monitoring_alert_policy.index_load_failures.name],
    google_monitoring_alert_policy.autoscaler_at_max[*].name,
    google_monitoring_alert_policy.uptime[*].name,
  )
}

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
    [for p in google_monitoring_alert_policy.ratio : p.name],
    [for p in google_monitoring_alert_policy.log_events : p.name],
    google_monitoring_alert_policy.autoscaler_at_max[*].name,
    google_monitoring_alert_policy.uptime[*].name,
  )
}

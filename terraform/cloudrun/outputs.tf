output "service_url" {
  description = "HTTPS URL of the Cloud Run service."
  value       = module.service.uri
}

output "service_name" {
  description = "Cloud Run service name."
  value       = module.service.name
}

output "repository_url" {
  description = "Artifact Registry URL to push images to."
  value       = module.registry.repository_url
}

output "service_account_email" {
  description = "Runtime service account email."
  value       = module.runtime_sa.email
}

output "secret_ids" {
  description = "Secret ids (names only; values are never in Terraform)."
  value       = module.secrets.secret_ids
}

output "monitoring_slo_ids" {
  description = "Cloud Monitoring SLOs (empty when monitoring is disabled)."
  value       = one(module.monitoring[*].slo_ids)
}

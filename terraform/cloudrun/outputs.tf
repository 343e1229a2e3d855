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

output "ci_workload_identity_provider" {
  description = "Workload Identity provider for GitHub Actions (GitHub variable GCP_WORKLOAD_IDENTITY_PROVIDER); null without github_repository."
  value       = one(module.ci_identity[*].workload_identity_provider)
}

output "ci_deployer_email" {
  description = "CI deploy service account (GitHub variable GCP_SERVICE_ACCOUNT of the environment)."
  value       = one(module.ci_identity[*].deployer_email)
}

output "ci_planner_email" {
  description = "CI read-only plan service account (GitHub variable GCP_SERVICE_ACCOUNT of ENVIRONMENT-plan)."
  value       = one(module.ci_identity[*].planner_email)
}

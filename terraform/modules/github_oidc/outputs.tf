output "workload_identity_provider" {
  description = "Full provider name for google-github-actions/auth (set it as the GitHub variable GCP_WORKLOAD_IDENTITY_PROVIDER)."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deployer_email" {
  description = "Deploy service account (GitHub variable GCP_SERVICE_ACCOUNT of environment ENVIRONMENT)."
  value       = module.deployer.email
}

output "planner_email" {
  description = "Read-only plan service account (GitHub variable GCP_SERVICE_ACCOUNT of environment ENVIRONMENT-plan)."
  value       = module.planner.email
}

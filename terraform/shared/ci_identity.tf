# CI/CD identities for both root modules (cloudrun/, gke/), each linking this file as ci_identity.tf:
# keyless GitHub Actions access for one repository (modules/github_oidc), only in the environments of
# cocus.yaml's ci.release. Each root module's main.tf adds its own roles (ci_deployer_roles,
# ci_planner_roles), the roles the deployer may grant (ci_grantable_roles) and the service accounts it may
# deploy as (ci_act_as). Every role is justified in terraform/README.md.
locals {
  ci_read_roles = [
    "roles/iam.serviceAccountViewer",       # plan: refresh the runtime and CI service accounts
    "roles/iam.workloadIdentityPoolViewer", # plan: refresh the pool and provider (CI can never change them)
    "roles/iam.securityReviewer",           # plan: read the IAM policies behind every *_iam_member (changes none)
    "roles/secretmanager.viewer",           # plan: refresh secret metadata; never a secret's value
  ]
}

module "ci_identity" {
  source = "../modules/github_oidc"
  count  = var.github_repository == null ? 0 : 1

  project_id              = var.project_id
  github_repository       = var.github_repository
  environment             = var.environment
  deployer_account_id     = var.ci_deployer_account_id
  planner_account_id      = var.ci_planner_account_id
  deployer_project_roles  = local.ci_deployer_roles
  planner_project_roles   = local.ci_planner_roles
  grantable_roles         = local.ci_grantable_roles
  act_as_service_accounts = local.ci_act_as
  artifact_repository_id  = module.registry.repository_id
  artifact_location       = var.region
  promotion_readers       = var.ci_promotion_readers
  state_bucket            = var.state_bucket
  state_prefix            = var.state_prefix
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

# Keyless CI: GitHub Actions jobs exchange their OIDC token for short-lived Google credentials
# (Workload Identity Federation). No service account key exists anywhere.
#
# Two identities per environment project:
#   deployer  — jobs in the GitHub environment ENVIRONMENT (its protection rules gate them): push the image,
#               apply Terraform, deploy, promote.
#   planner   — jobs in the GitHub environment ENVIRONMENT-plan: read-only, for `cocusctl plan`.
# Creating or widening these identities is never done by CI: the deployer may read them but cannot change
# them (its IAM grants are limited by condition to `grantable_roles`); a project admin applies such changes.

locals {
  github_issuer = "https://token.actions.githubusercontent.com"
  principal_set = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}"
  state_objects = var.state_bucket == null ? null : "projects/_/buckets/${var.state_bucket}/objects/${var.state_prefix}/"
  # Listing objects is checked on the bucket, reading and writing on the object names under the prefix.
  state_condition = var.state_bucket == null ? null : join(" || ", [
    "resource.type == \"storage.googleapis.com/Bucket\"",
    "resource.name.startsWith(\"${local.state_objects}\")",
  ])
}

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = var.pool_id
  display_name              = "GitHub Actions"
  description               = "Workflows of ${var.github_repository} (managed by Terraform)."
}

resource "google_iam_workload_identity_pool_provider" "github" {
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = var.provider_id
  display_name                       = "GitHub Actions OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
    # Only jobs that name a GitHub environment carry the claim; the others map to "none".
    "attribute.environment" = "has(assertion.environment) ? assertion.environment : \"none\""
  }

  # Tokens of any other repository are refused at the exchange, before any IAM binding is looked at.
  attribute_condition = "assertion.repository == \"${var.github_repository}\""

  oidc {
    issuer_uri = local.github_issuer
  }
}

module "deployer" {
  source = "../service_account"

  project_id    = var.project_id
  account_id    = var.deployer_account_id
  display_name  = "CI deployer (${var.environment})"
  project_roles = var.deployer_project_roles
}

module "planner" {
  source = "../service_account"

  project_id    = var.project_id
  account_id    = var.planner_account_id
  display_name  = "CI planner, read-only (${var.environment})"
  project_roles = var.planner_project_roles
}

# Who may act as whom: only jobs of this repository running in the named GitHub environment.
resource "google_service_account_iam_member" "deployer_federation" {
  service_account_id = module.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "${local.principal_set}/attribute.environment/${var.environment}"
}

resource "google_service_account_iam_member" "planner_federation" {
  service_account_id = module.planner.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "${local.principal_set}/attribute.environment/${var.environment}-plan"
}

# The deployer may grant and revoke exactly the workload's roles, nothing else (not its own, not owner).
resource "google_project_iam_member" "deployer_grants" {
  count = length(var.grantable_roles) > 0 ? 1 : 0

  project = var.project_id
  role    = "roles/resourcemanager.projectIamAdmin"
  member  = module.deployer.member

  condition {
    title       = "only-workload-roles"
    description = "Grant or revoke only the roles the workload's own service accounts need."
    expression  = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(${jsonencode(var.grantable_roles)})"
  }
}

# Deploy workloads (Cloud Run revisions, pods) that run as these service accounts, and only these.
resource "google_service_account_iam_member" "deployer_act_as" {
  for_each = toset(var.act_as_service_accounts)

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = module.deployer.member
}

# Push images to this repository only.
resource "google_artifact_registry_repository_iam_member" "deployer_push" {
  project    = var.project_id
  location   = var.artifact_location
  repository = var.artifact_repository_id
  role       = "roles/artifactregistry.writer"
  member     = module.deployer.member
}

# The planner reads the repository's settings (cleanup policies) and nothing else in Artifact Registry.
resource "google_artifact_registry_repository_iam_member" "planner_read" {
  project    = var.project_id
  location   = var.artifact_location
  repository = var.artifact_repository_id
  role       = "roles/artifactregistry.reader"
  member     = module.planner.member
}

# `cocusctl promote` into the next environment reads this one's serving revision and copies its image.
resource "google_artifact_registry_repository_iam_member" "promotion_pull" {
  for_each = toset(var.promotion_readers)

  project    = var.project_id
  location   = var.artifact_location
  repository = var.artifact_repository_id
  role       = "roles/artifactregistry.reader"
  member     = each.value
}

resource "google_project_iam_member" "promotion_run_viewer" {
  for_each = toset(var.promotion_readers)

  project = var.project_id
  role    = "roles/run.viewer"
  member  = each.value
}

# Terraform state: the deployer reads and writes this environment's objects; the planner reads them and may
# only create/delete the lock file that `terraform plan` takes.
resource "google_storage_bucket_iam_member" "deployer_state" {
  count = var.state_bucket == null ? 0 : 1

  bucket = var.state_bucket
  role   = "roles/storage.objectUser"
  member = module.deployer.member

  condition {
    title      = "state-prefix"
    expression = local.state_condition
  }
}

resource "google_storage_bucket_iam_member" "planner_state_read" {
  count = var.state_bucket == null ? 0 : 1

  bucket = var.state_bucket
  role   = "roles/storage.objectViewer"
  member = module.planner.member

  condition {
    title      = "state-prefix"
    expression = local.state_condition
  }
}

resource "google_storage_bucket_iam_member" "planner_state_lock" {
  count = var.state_bucket == null ? 0 : 1

  bucket = var.state_bucket
  role   = "roles/storage.objectUser"
  member = module.planner.member

  condition {
    title      = "state-lock-only"
    expression = "resource.name.startsWith(\"${local.state_objects}\") && resource.name.endsWith(\".tflock\")"
  }
}

locals {
  ingress = {
    "all"                        = "INGRESS_TRAFFIC_ALL"
    "internal"                   = "INGRESS_TRAFFIC_INTERNAL_ONLY"
    "internal-and-load-balancer" = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  }
}

module "registry" {
  source = "../modules/artifact_registry"

  project_id                 = var.project_id
  location                   = var.region
  repository_id              = var.artifact_repository_id
  keep_recent                = var.cleanup_keep_recent
  delete_untagged_after_days = var.cleanup_delete_untagged_after_days
}

module "runtime_sa" {
  source = "../modules/service_account"

  project_id    = var.project_id
  account_id    = var.runtime_service_account_id
  display_name  = "${var.service_name} runtime (${var.environment})"
  project_roles = var.runtime_roles
}

module "secrets" {
  source = "../modules/secrets"

  project_id      = var.project_id
  secret_ids      = [for s in var.secrets : s.name]
  accessor_member = module.runtime_sa.member
}

module "network" {
  source = "../modules/network"
  count  = var.vpc_egress ? 1 : 0

  project_id  = var.project_id
  region      = var.region
  name        = var.network_name
  subnet_cidr = var.subnet_cidr
}

module "service" {
  source = "../modules/cloud_run_service"

  project_id            = var.project_id
  region                = var.region
  name                  = var.service_name
  image                 = var.image
  service_account_email = module.runtime_sa.email
  min_instances         = var.min_instances
  max_instances         = var.max_instances
  cpu                   = var.cpu
  memory                = var.memory
  concurrency           = var.concurrency
  ingress               = local.ingress[var.ingress]
  public                = var.invoker == "public"
  invoker_members       = var.invoker_members
  env_vars              = var.env_vars
  # The secret must exist (and be readable) before a revision references it.
  secrets             = [for s in var.secrets : { env = s.env, secret = module.secrets.secret_ids[s.name], version = s.version }]
  vpc_network         = var.vpc_egress ? module.network[0].network_id : null
  vpc_subnetwork      = var.vpc_egress ? module.network[0].subnet_id : null
  deletion_protection = var.deletion_protection

  depends_on = [module.secrets]
}

# CI/CD identities: keyless GitHub Actions access for this repository only (modules/github_oidc). Project roles
# of the deployer, each needed by a step of the release workflow; everything else it gets is scoped to one
# resource in the module (push to this repository, act as the runtime service account, this state prefix).
locals {
  ci_read_roles = concat([
    "roles/iam.serviceAccountViewer",       # plan: refresh the runtime and CI service accounts
    "roles/iam.workloadIdentityPoolViewer", # plan: refresh the pool and provider (CI can never change them)
    "roles/iam.securityReviewer",           # plan: read the IAM policies behind every *_iam_member (changes none)
    "roles/secretmanager.viewer",           # plan: refresh secret metadata; never a secret's value
  ], var.vpc_egress ? ["roles/compute.networkViewer"] : [])
  ci_deployer_roles = concat([
    "roles/run.admin", # apply and deploy: the service, its revisions and traffic, its invoker IAM binding
  ], local.ci_read_roles)
  ci_planner_roles = concat(["roles/run.viewer"], local.ci_read_roles)
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
  grantable_roles         = var.runtime_roles
  act_as_service_accounts = [module.runtime_sa.name]
  artifact_repository_id  = module.registry.repository_id
  artifact_location       = var.region
  promotion_readers       = var.ci_promotion_readers
  state_bucket            = var.state_bucket
  state_prefix            = var.state_prefix
}

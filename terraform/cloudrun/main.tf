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
  timeout_s             = var.request_timeout_s
  container_port        = var.container_port
  startup_probe_path    = var.startup_probe_path
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

module "monitoring" {
  source = "../modules/monitoring"
  count  = var.monitoring.enabled ? 1 : 0

  project_id                 = var.project_id
  service_name               = module.service.name
  notification_channels      = var.monitoring.notification_channels
  uptime_check_host          = var.monitoring.uptime_check_host
  uptime_check_authenticated = var.invoker == "iam"
  min_instances              = var.min_instances
  max_instances              = var.max_instances
}

# CI/CD identities (ci_identity.tf, shared with gke/): this root module's part of their roles.
locals {
  ci_network_roles = var.vpc_egress ? ["roles/compute.networkViewer"] : [] # plan: refresh the VPC and subnet
  # monitoring/: alert policies, the SLO service and its SLOs, the uptime check, log-based metrics.
  ci_monitoring_write = var.monitoring.enabled ? ["roles/monitoring.editor", "roles/logging.configWriter"] : []
  ci_monitoring_read  = var.monitoring.enabled ? ["roles/monitoring.viewer", "roles/logging.viewer"] : []
  ci_deployer_roles = concat([
    "roles/run.admin", # apply and deploy: the service, its revisions and traffic, its invoker IAM binding
  ], local.ci_read_roles, local.ci_network_roles, local.ci_monitoring_write)
  ci_planner_roles   = concat(["roles/run.viewer"], local.ci_read_roles, local.ci_network_roles, local.ci_monitoring_read)
  ci_grantable_roles = var.runtime_roles
  ci_act_as          = [module.runtime_sa.name]
}

locals {
  pods_range     = "${var.cluster_name}-pods"
  services_range = "${var.cluster_name}-services"
}

module "network" {
  source = "../modules/network"

  project_id  = var.project_id
  region      = var.region
  name        = var.network_name
  subnet_cidr = var.subnet_cidr
  secondary_ranges = {
    (local.pods_range)     = var.pods_cidr
    (local.services_range) = var.services_cidr
  }
  # Private nodes have no external IPs; NAT gives them egress.
  enable_nat = true
}

# Nodes run as this identity with only the node role (logging, monitoring, metadata), never as the
# default compute service account.
module "node_sa" {
  source = "../modules/service_account"

  project_id    = var.project_id
  account_id    = var.node_service_account_id
  display_name  = "${var.cluster_name} nodes (${var.environment})"
  project_roles = ["roles/container.defaultNodeServiceAccount"]
}

# The workload's identity, reached from Kubernetes through Workload Identity.
module "runtime_sa" {
  source = "../modules/service_account"

  project_id    = var.project_id
  account_id    = var.runtime_service_account_id
  display_name  = "${var.k8s_service_account} runtime (${var.environment})"
  project_roles = var.runtime_roles
}

module "registry" {
  source = "../modules/artifact_registry"

  project_id                 = var.project_id
  location                   = var.region
  repository_id              = var.artifact_repository_id
  keep_recent                = var.cleanup_keep_recent
  delete_untagged_after_days = var.cleanup_delete_untagged_after_days
  # Nodes pull images from this repository only.
  reader_members = [module.node_sa.member]
}

module "secrets" {
  source = "../modules/secrets"

  project_id      = var.project_id
  secret_ids      = [for s in var.secrets : s.name]
  accessor_member = module.runtime_sa.member
}

module "cluster" {
  source = "../modules/gke_cluster"

  project_id                 = var.project_id
  region                     = var.region
  name                       = var.cluster_name
  autopilot                  = var.autopilot
  release_channel            = var.release_channel
  network                    = module.network.network_id
  subnetwork                 = module.network.subnet_id
  pods_range_name            = local.pods_range
  services_range_name        = local.services_range
  master_cidr                = var.master_cidr
  private_endpoint           = var.private_endpoint
  master_authorized_networks = var.master_authorized_networks
  node_service_account_email = module.node_sa.email
  machine_type               = var.machine_type
  min_nodes                  = var.min_nodes
  max_nodes                  = var.max_nodes
  deletion_protection        = var.deletion_protection
  labels                     = var.labels
}

# Workload Identity: the Kubernetes service account NAMESPACE/KSA may act as the runtime service account.
resource "google_service_account_iam_member" "workload_identity" {
  service_account_id = module.runtime_sa.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${module.cluster.workload_pool}[${var.k8s_namespace}/${var.k8s_service_account}]"
}


# CI/CD identities (ci_identity.tf, shared with cloudrun/): this root module's part of their roles.
locals {
  ci_network_roles = ["roles/compute.networkViewer"] # plan: refresh the VPC, subnet, router and NAT
  ci_deployer_roles = concat([
    "roles/container.clusterAdmin", # apply: the cluster and node pool settings Terraform owns (no Kubernetes objects)
    "roles/container.developer",    # deploy: the Helm release's Kubernetes objects in the cluster
  ], local.ci_read_roles, local.ci_network_roles)
  ci_planner_roles   = concat(["roles/container.clusterViewer"], local.ci_read_roles, local.ci_network_roles)
  ci_grantable_roles = distinct(concat(var.runtime_roles, ["roles/container.defaultNodeServiceAccount"]))
  ci_act_as          = [module.node_sa.name, module.runtime_sa.name]
}

# Rendered by `cocusctl render` from templates/terraform/gke.tfvars.j2 for environment prod-gke.
# Do not edit: change cocus.yaml and render again. Inputs of the Terraform root module terraform/gke.

project_id          = "acme-cocus-prod"
region              = "europe-west1"
environment         = "prod-gke"
deletion_protection = true

labels = {
  "team" = "platform"
}

# Artifact Registry
artifact_repository_id             = "cocus"
cleanup_keep_recent                = 10
cleanup_delete_untagged_after_days = 7

# Identity and secrets (names and pinned versions only; values never pass through Terraform)
runtime_service_account_id = "cocus-rag-gke"
runtime_roles              = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]
node_service_account_id    = "cocus-prod-gke-nodes"
k8s_namespace              = "cocus"
k8s_service_account        = "cocus-rag"

secrets = [
  {
    "name"    = "cocus-rag-api-keys"
    "env"     = "COCUS_API_KEYS"
    "version" = "7"
  },
]

# Cluster
cluster_name     = "cocus-prod"
autopilot        = false
release_channel  = "STABLE"
private_endpoint = false
machine_type     = "e2-standard-4"
min_nodes        = 1
max_nodes        = 4

master_authorized_networks = [
  {
    "cidr" = "203.0.113.0/24"
    "name" = "office"
  },
]

# Network
network_name  = "cocus-gke-vpc"
subnet_cidr   = "10.50.0.0/20"
pods_cidr     = "10.60.0.0/14"
services_cidr = "10.70.0.0/20"
master_cidr   = "172.16.8.0/28"

# CI/CD identities (terraform/modules/github_oidc; null repository: none in this environment)
github_repository      = null
ci_deployer_account_id = "cocus-deployer"
ci_planner_account_id  = "cocus-planner"
ci_promotion_readers   = []
state_bucket           = "acme-cocus-tfstate"
state_prefix           = "cocus-rag/prod-gke"

# Rendered by `cocusctl render` from templates/terraform/cloudrun.tfvars.j2 for environment prod.
# Do not edit: change cocus.yaml and render again. Inputs of the Terraform root module terraform/cloudrun.

project_id          = "acme-cocus-prod"
region              = "europe-west1"
environment         = "prod"
deletion_protection = true

labels = {
  "team"        = "platform"
  "cost-center" = "rag"
}

# Artifact Registry
artifact_repository_id             = "cocus"
cleanup_keep_recent                = 10
cleanup_delete_untagged_after_days = 7

# Identity and secrets (names and pinned versions only; values never pass through Terraform)
runtime_service_account_id = "cocus-rag-prod"
runtime_roles              = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]

secrets = [
  {
    "name"    = "cocus-rag-api-keys"
    "env"     = "COCUS_API_KEYS"
    "version" = "7"
  },
  {
    "name"    = "cocus-rag-redis-url"
    "env"     = "REDIS_URL"
    "version" = "3"
  },
]

# Cloud Run service (Terraform-owned fields, from the environment's `revision`; image is used only when the
# service is first created)
service_name       = "cocus-rag"
image              = "us-docker.pkg.dev/cloudrun/container/hello"
min_instances      = 2
max_instances      = 50
cpu                = "2"
memory             = "2Gi"
concurrency        = 80
request_timeout_s  = 300
container_port     = 8080
startup_probe_path = "/readyz"
ingress            = "internal-and-load-balancer"
invoker            = "iam"
invoker_members    = ["group:rag-clients@acme.example", "serviceAccount:gateway@acme-cocus-prod.iam.gserviceaccount.com"]

env_vars = {
  "COCUS_DEFAULT_TOP_K" = "5"
  "COCUS_LOG_LEVEL"     = "INFO"
}

# Network
vpc_egress   = true
network_name = "cocus-prod-vpc"
subnet_cidr  = "10.40.0.0/24"

# Cloud Monitoring (SLOs and alerts from observability/slo.yaml)
monitoring = {
  "enabled"               = true
  "notification_channels" = ["projects/acme-cocus-prod/notificationChannels/4455667788"]
  "uptime_check_host"     = "rag.acme.example"
}

# CI/CD identities (terraform/modules/github_oidc; null repository: none in this environment)
github_repository      = "acme/cocus-rag"
ci_deployer_account_id = "cocus-deployer"
ci_planner_account_id  = "cocus-planner"
ci_promotion_readers   = []
state_bucket           = "acme-cocus-tfstate"
state_prefix           = "cocus-rag/prod"

# Rendered by `cocusctl render` from templates/terraform/cloudrun.tfvars.j2 for environment staging.
# Do not edit: change cocus.yaml and render again. Inputs of the Terraform root module terraform/cloudrun.

project_id          = "acme-cocus-staging"
region              = "europe-west1"
environment         = "staging"
deletion_protection = false

labels = {
  "team"        = "platform"
  "cost-center" = "rag"
}

# Artifact Registry
artifact_repository_id             = "cocus"
cleanup_keep_recent                = 5
cleanup_delete_untagged_after_days = 3

# Identity and secrets (names and pinned versions only; values never pass through Terraform)
runtime_service_account_id = "cocus-rag-staging"
runtime_roles              = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]

secrets = [
  {
    "name"    = "cocus-rag-api-keys"
    "env"     = "COCUS_API_KEYS"
    "version" = "2"
  },
]

# Cloud Run service (Terraform-owned fields, from the environment's `revision`; image is used only when the
# service is first created)
service_name       = "cocus-rag"
image              = "us-docker.pkg.dev/cloudrun/container/hello"
min_instances      = 0
max_instances      = 5
cpu                = "1"
memory             = "1Gi"
concurrency        = 40
request_timeout_s  = 300
container_port     = 8080
startup_probe_path = "/readyz"
ingress            = "all"
invoker            = "public"
invoker_members    = []

env_vars = {
  "COCUS_DEFAULT_TOP_K" = "5"
  "COCUS_LOG_LEVEL"     = "DEBUG"
  "COCUS_METRICS_PORT"  = "9464"
}

# Network
vpc_egress   = false
network_name = "cocus-vpc"
subnet_cidr  = "10.10.0.0/20"

# Cloud Monitoring (SLOs and alerts from observability/slo.yaml)
monitoring = {
  "enabled"               = true
  "notification_channels" = []
  "uptime_check_host"     = ""
}

# CI/CD identities (terraform/modules/github_oidc; null repository: none in this environment)
github_repository      = "acme/cocus-rag"
ci_deployer_account_id = "cocus-deployer"
ci_planner_account_id  = "cocus-planner"
ci_promotion_readers   = ["serviceAccount:cocus-deployer@acme-cocus-prod.iam.gserviceaccount.com"]
state_bucket           = "acme-cocus-tfstate"
state_prefix           = "cocus-rag/staging"

# Variables shared by the cloudrun and gke root modules (rendered from templates/terraform/*.tfvars.j2).
# Each root module links this file as common_variables.tf; its own variables.tf holds the rest.
variable "project_id" {
  description = "GCP project id."
  type        = string

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id (6-30 lower-case letters, digits or hyphens)."
  }
}

variable "region" {
  description = "GCP region, e.g. europe-west1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must look like europe-west1."
  }
}

variable "environment" {
  description = "cocusctl environment name (staging, prod, ...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,30}$", var.environment))
    error_message = "environment must be lower-case letters, digits or hyphens."
  }
}

variable "labels" {
  description = "Labels on every resource (plus environment and managed-by)."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Refuse to destroy the service or cluster."
  type        = bool
  default     = true
}

variable "artifact_repository_id" {
  description = "Artifact Registry Docker repository id."
  type        = string
}

variable "cleanup_keep_recent" {
  description = "Artifact Registry cleanup: keep this many recent versions."
  type        = number
  default     = 10
}

variable "cleanup_delete_untagged_after_days" {
  description = "Artifact Registry cleanup: delete untagged versions older than this."
  type        = number
  default     = 7
}

variable "runtime_service_account_id" {
  description = "Account id of the service's runtime service account."
  type        = string
}

variable "runtime_roles" {
  description = "Predefined project roles of the runtime service account (no primitive roles)."
  type        = list(string)
  default     = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]

  validation {
    condition     = alltrue([for r in var.runtime_roles : !contains(["roles/owner", "roles/editor", "roles/viewer"], r)])
    error_message = "Primitive roles (roles/owner, roles/editor, roles/viewer) are not allowed."
  }
}

variable "secrets" {
  description = "Secret Manager secrets: created empty, read by the service at the pinned version."
  type = list(object({
    name    = string
    env     = string
    version = string
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.secrets : can(regex("^[1-9][0-9]*$", s.version))])
    error_message = "Every secret must pin a version number; 'latest' is not allowed."
  }

  validation {
    condition     = length(distinct([for s in var.secrets : s.env])) == length(var.secrets)
    error_message = "Two secrets map to the same environment variable."
  }
}

variable "network_name" {
  description = "VPC network name."
  type        = string
}

variable "subnet_cidr" {
  description = "Primary range of the subnet."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.subnet_cidr))
    error_message = "subnet_cidr must be an IPv4 CIDR block."
  }
}

# ---- CI/CD identities (modules/github_oidc), from cocus.yaml's `ci:` block ----
variable "github_repository" {
  description = "GitHub owner/name whose workflows may deploy here through Workload Identity Federation; null: no CI identities."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "ci_deployer_account_id" {
  description = "Account id of the CI deploy service account."
  type        = string
  default     = "cocus-deployer"
}

variable "ci_planner_account_id" {
  description = "Account id of the CI read-only plan service account."
  type        = string
  default     = "cocus-planner"
}

variable "ci_promotion_readers" {
  description = "Members (the next environment's CI deployer) that may read this environment's images and services to promote them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.ci_promotion_readers : startswith(m, "serviceAccount:")])
    error_message = "Promotion readers are service accounts (serviceAccount:EMAIL)."
  }
}

variable "state_bucket" {
  description = "GCS bucket of this environment's Terraform state (the CI identities get access to its prefix only); null for local state."
  type        = string
  default     = null
}

variable "state_prefix" {
  description = "Object prefix of this environment's Terraform state in state_bucket."
  type        = string
  default     = null
}

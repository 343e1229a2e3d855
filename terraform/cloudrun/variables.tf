# ---- shared by the cloudrun and gke root modules (rendered from templates/terraform/*.tfvars.j2) ----
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

# ---- Cloud Run only ----
variable "service_name" {
  description = "Cloud Run service name."
  type        = string
}

variable "image" {
  description = "Image used only when the service is first created; `cocusctl deploy` owns it afterwards."
  type        = string

  validation {
    condition     = length(var.image) > 0
    error_message = "image must not be empty."
  }
}

variable "min_instances" {
  description = "Minimum instances."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Maximum instances."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instances >= var.min_instances
    error_message = "max_instances must be >= min_instances."
  }
}

variable "cpu" {
  description = "CPU limit per instance."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^([1-8]|[1-9][0-9]{2,3}m)$", var.cpu))
    error_message = "cpu must be 1-8 or millicores such as 500m."
  }
}

variable "memory" {
  description = "Memory limit per instance."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[1-9][0-9]*(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "concurrency" {
  description = "Maximum concurrent requests per instance."
  type        = number
  default     = 80

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "ingress" {
  description = "Who may reach the service: all, internal, internal-and-load-balancer."
  type        = string
  default     = "all"

  validation {
    condition     = contains(["all", "internal", "internal-and-load-balancer"], var.ingress)
    error_message = "ingress must be all, internal or internal-and-load-balancer."
  }
}

variable "invoker" {
  description = "public: anyone may invoke (allUsers); iam: only invoker_members."
  type        = string
  default     = "iam"

  validation {
    condition     = contains(["public", "iam"], var.invoker)
    error_message = "invoker must be public or iam."
  }
}

variable "invoker_members" {
  description = "IAM members allowed to invoke the service (invoker = iam)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.invoker_members : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "Use invoker = \"public\" rather than allUsers/allAuthenticatedUsers members."
  }
}

variable "env_vars" {
  description = "Plain environment variables of the service (never secrets)."
  type        = map(string)
  default     = {}
}

variable "vpc_egress" {
  description = "Send traffic to private ranges through the VPC (direct VPC egress)."
  type        = bool
  default     = false
}

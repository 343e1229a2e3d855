variable "project_id" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "Cloud Run region."
  type        = string
}

variable "name" {
  description = "Cloud Run service name."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", var.name))
    error_message = "name must be 1-49 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "image" {
  description = "Image used only when Terraform CREATES the service; afterwards `cocusctl deploy` owns the image."
  type        = string
}

variable "service_account_email" {
  description = "Runtime service account the revisions run as."
  type        = string
}

variable "min_instances" {
  description = "Minimum instances."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instances >= 0 && floor(var.min_instances) == var.min_instances
    error_message = "min_instances must be a whole number >= 0."
  }
}

variable "max_instances" {
  description = "Maximum instances."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instances >= 1 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number >= 1."
  }
}

variable "cpu" {
  description = "CPU limit per instance (e.g. 1, 2, 500m)."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory limit per instance (e.g. 512Mi, 2Gi)."
  type        = string
  default     = "512Mi"
}

variable "concurrency" {
  description = "Maximum concurrent requests per instance."
  type        = number
  default     = 80
}

variable "container_port" {
  description = "Port the container listens on."
  type        = number
  default     = 8080
}

variable "timeout_s" {
  description = "Request timeout in seconds."
  type        = number
}

variable "startup_probe_path" {
  description = "HTTP path of the startup probe (readiness); null = a TCP probe on the container port."
  type        = string
  nullable    = true
}

variable "health_path" {
  description = "HTTP path of the liveness probe."
  type        = string
  default     = "/healthz"
}

variable "ingress" {
  description = "Cloud Run ingress setting."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition     = contains(["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"], var.ingress)
    error_message = "ingress must be INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  }
}

variable "public" {
  description = "Allow unauthenticated invocations (allUsers as run.invoker)."
  type        = bool
  default     = false
}

variable "invoker_members" {
  description = "IAM members granted roles/run.invoker (used when public = false)."
  type        = list(string)
  default     = []
}

variable "env_vars" {
  description = "Plain environment variables (never secrets)."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Secret Manager secrets injected as environment variables at a pinned version."
  type = list(object({
    env     = string
    secret  = string
    version = string
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.secrets : can(regex("^[1-9][0-9]*$", s.version))])
    error_message = "Every secret must pin a version number ('latest' is not allowed)."
  }
}

variable "vpc_network" {
  description = "VPC network for direct VPC egress (null: no VPC egress)."
  type        = string
  default     = null
}

variable "vpc_subnetwork" {
  description = "Subnetwork for direct VPC egress."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse to delete the service."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on the service."
  type        = map(string)
  default     = {}
}

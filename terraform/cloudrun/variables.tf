# Cloud Run root module variables; the ones shared with gke/ are in common_variables.tf (a link to ../shared/).
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

variable "monitoring" {
  description = "Cloud Monitoring (modules/monitoring): log-based metrics, the SLOs of observability/slo.yaml with burn-rate alerts, threshold alerts, an optional /healthz uptime check."
  type = object({
    enabled               = optional(bool, true)
    notification_channels = optional(list(string), [])
    uptime_check_host     = optional(string, "")
  })
  default = {}
}

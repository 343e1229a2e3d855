# Cloud Run root module variables; the ones shared with gke/ are in common_variables.tf (a link to ../shared/).
# The revision's settings (scaling, resources, env) have no defaults here: cocusctl renders them from the
# environment's `revision` in cocus.yaml, where the defaults live.
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
}

variable "max_instances" {
  description = "Maximum instances."
  type        = number

  validation {
    condition     = var.max_instances >= var.min_instances
    error_message = "max_instances must be >= min_instances."
  }
}

variable "cpu" {
  description = "CPU limit per instance."
  type        = string

  validation {
    condition     = can(regex("^([1-8]|[1-9][0-9]{2,3}m)$", var.cpu))
    error_message = "cpu must be 1-8 or millicores such as 500m."
  }
}

variable "memory" {
  description = "Memory limit per instance."
  type        = string

  validation {
    condition     = can(regex("^[1-9][0-9]*(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "concurrency" {
  description = "Maximum concurrent requests per instance."
  type        = number

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

variable "request_timeout_s" {
  description = "Request timeout in seconds."
  type        = number

  validation {
    condition     = var.request_timeout_s >= 1 && var.request_timeout_s <= 3600 && floor(var.request_timeout_s) == var.request_timeout_s
    error_message = "request_timeout_s must be a whole number from 1 to 3600."
  }
}

variable "container_port" {
  description = "Port the container listens on ($PORT)."
  type        = number

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535
    error_message = "container_port must be between 1 and 65535."
  }
}

variable "startup_probe_path" {
  description = "HTTP path of the startup probe; null = a TCP probe."
  type        = string
  nullable    = true
}

variable "env_vars" {
  description = "Plain environment variables of the service (never secrets)."
  type        = map(string)
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

variable "project_id" {
  description = "Project of the Cloud Run service and of its monitoring resources."
  type        = string
}

variable "service_name" {
  description = "The Cloud Run service (resource.labels.service_name)."
  type        = string
}

variable "notification_channels" {
  description = "Notification channel ids (projects/P/notificationChannels/N) every alert policy notifies; empty: alerts show in the console only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "Each notification channel must be a full id: projects/PROJECT/notificationChannels/ID."
  }
}

variable "uptime_check_host" {
  description = "Public host name to probe GET /healthz on over HTTPS (the run.app host or the load balancer's); empty: no uptime check."
  type        = string
  default     = ""
}

variable "uptime_check_authenticated" {
  description = "Send an OIDC token of the Monitoring service agent (for a service whose invoker is IAM-only)."
  type        = bool
  default     = false
}

variable "min_instances" {
  description = "The service's minimum instance count (the autoscaler alert needs max > min)."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "The service's maximum instance count per revision (the autoscaler alert's bound)."
  type        = number
}

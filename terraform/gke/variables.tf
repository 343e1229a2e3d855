# GKE root module variables; the ones shared with cloudrun/ are in common_variables.tf (a link to ../shared/).
# ---- GKE only ----
variable "cluster_name" {
  description = "GKE cluster name."
  type        = string
}

variable "autopilot" {
  description = "Autopilot (true) or Standard with a managed node pool (false)."
  type        = bool
  default     = true
}

variable "release_channel" {
  description = "GKE release channel: RAPID, REGULAR or STABLE."
  type        = string
  default     = "REGULAR"
}

variable "pods_cidr" {
  description = "Secondary range for pods."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.pods_cidr))
    error_message = "pods_cidr must be an IPv4 CIDR block."
  }
}

variable "services_cidr" {
  description = "Secondary range for services."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.services_cidr))
    error_message = "services_cidr must be an IPv4 CIDR block."
  }
}

variable "master_cidr" {
  description = "Private /28 of the control plane."
  type        = string
}

variable "private_endpoint" {
  description = "Control plane reachable only on its private IP."
  type        = bool
  default     = false
}

variable "master_authorized_networks" {
  description = "CIDR blocks allowed to reach the control plane."
  type = list(object({
    cidr = string
    name = string
  }))
  default = []
}

variable "machine_type" {
  description = "Node machine type (Standard only)."
  type        = string
  default     = "e2-standard-4"
}

variable "min_nodes" {
  description = "Minimum nodes per zone (Standard only)."
  type        = number
  default     = 1
}

variable "max_nodes" {
  description = "Maximum nodes per zone (Standard only)."
  type        = number
  default     = 3

  validation {
    condition     = var.max_nodes >= var.min_nodes
    error_message = "max_nodes must be >= min_nodes."
  }
}

variable "node_service_account_id" {
  description = "Account id of the nodes' dedicated service account."
  type        = string
}

variable "k8s_namespace" {
  description = "Kubernetes namespace of the workload (Workload Identity binding)."
  type        = string
}

variable "k8s_service_account" {
  description = "Kubernetes service account of the workload (Workload Identity binding)."
  type        = string
}

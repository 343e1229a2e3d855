variable "project_id" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "Region of the (regional) cluster."
  type        = string
}

variable "name" {
  description = "Cluster name."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be 1-40 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "autopilot" {
  description = "Autopilot (true) or Standard with a managed node pool (false)."
  type        = bool
  default     = true
}

variable "release_channel" {
  description = "GKE release channel."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "network" {
  description = "VPC network id or self link."
  type        = string
}

variable "subnetwork" {
  description = "Subnet id or self link."
  type        = string
}

variable "pods_range_name" {
  description = "Name of the subnet's secondary range for pods."
  type        = string
}

variable "services_range_name" {
  description = "Name of the subnet's secondary range for services."
  type        = string
}

variable "master_cidr" {
  description = "The control plane's private /28."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.master_cidr)) && endswith(var.master_cidr, "/28")
    error_message = "master_cidr must be an IPv4 /28 block."
  }
}

variable "private_endpoint" {
  description = "Make the control plane reachable only on its private IP."
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

  validation {
    condition     = alltrue([for n in var.master_authorized_networks : can(cidrnetmask(n.cidr)) && n.cidr != "0.0.0.0/0"])
    error_message = "master_authorized_networks entries must be IPv4 CIDR blocks, and never 0.0.0.0/0."
  }
}

variable "node_service_account_email" {
  description = "Dedicated service account the nodes run as (never the default compute service account)."
  type        = string

  validation {
    condition     = !endswith(var.node_service_account_email, "-compute@developer.gserviceaccount.com")
    error_message = "Nodes must not run as the default compute service account."
  }
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
    condition     = var.max_nodes >= 1
    error_message = "max_nodes must be at least 1."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the cluster."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Resource labels on the cluster and nodes."
  type        = map(string)
  default     = {}
}

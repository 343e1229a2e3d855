variable "project_id" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "Region of the subnet."
  type        = string
}

variable "name" {
  description = "VPC network name; the subnet is NAME-REGION."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be a valid GCE resource name."
  }
}

variable "subnet_cidr" {
  description = "Primary IPv4 range of the subnet."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.subnet_cidr))
    error_message = "subnet_cidr must be an IPv4 CIDR block."
  }
}

variable "secondary_ranges" {
  description = "Secondary ranges (GKE pods/services), name => CIDR."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for c in values(var.secondary_ranges) : can(cidrnetmask(c))])
    error_message = "Every secondary range must be an IPv4 CIDR block."
  }
}

variable "enable_nat" {
  description = "Cloud NAT so private nodes can reach the internet (image pulls from outside Google)."
  type        = bool
  default     = false
}

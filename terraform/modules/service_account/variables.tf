variable "project_id" {
  description = "GCP project id."
  type        = string
}

variable "account_id" {
  description = "Service account id (the part before @)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.account_id))
    error_message = "account_id must be 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "display_name" {
  description = "Human-readable name."
  type        = string
}

variable "project_roles" {
  description = "Predefined project roles to grant. Primitive roles (owner, editor, viewer) are refused."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.project_roles : !contains(["roles/owner", "roles/editor", "roles/viewer"], r)])
    error_message = "Primitive roles (roles/owner, roles/editor, roles/viewer) are not allowed; use predefined roles."
  }

  validation {
    condition     = alltrue([for r in var.project_roles : can(regex("^(roles|projects/[^/]+/roles|organizations/[0-9]+/roles)/[A-Za-z0-9_.]+$", r))])
    error_message = "Every entry of project_roles must be an IAM role name such as roles/logging.logWriter."
  }
}

variable "project_id" {
  description = "GCP project id."
  type        = string
}

variable "secret_ids" {
  description = "Secret Manager secret ids to create (empty: values are added with `cocusctl secrets set` or out of band)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.secret_ids : can(regex("^[A-Za-z0-9_-]{1,255}$", s))])
    error_message = "Secret ids may contain only letters, digits, - and _ (1-255 characters)."
  }
}

variable "accessor_member" {
  description = "The one IAM member (the runtime service account) granted secretAccessor on each secret."
  type        = string

  validation {
    condition     = can(regex("^serviceAccount:", var.accessor_member))
    error_message = "accessor_member must be a service account (serviceAccount:EMAIL)."
  }
}

variable "labels" {
  description = "Labels on every secret."
  type        = map(string)
  default     = {}
}

variable "project_id" {
  description = "GCP project id."
  type        = string
}

variable "location" {
  description = "Region of the repository, e.g. europe-west1."
  type        = string
}

variable "repository_id" {
  description = "Repository id (the last path segment of the registry URL)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.repository_id))
    error_message = "repository_id must be 1-63 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "keep_recent" {
  description = "Cleanup: always keep this many most recent versions of each image."
  type        = number
  default     = 10

  validation {
    condition     = var.keep_recent >= 1 && var.keep_recent <= 1000 && floor(var.keep_recent) == var.keep_recent
    error_message = "keep_recent must be a whole number between 1 and 1000."
  }
}

variable "delete_untagged_after_days" {
  description = "Cleanup: delete untagged versions older than this many days."
  type        = number
  default     = 7

  validation {
    condition     = var.delete_untagged_after_days >= 1 && floor(var.delete_untagged_after_days) == var.delete_untagged_after_days
    error_message = "delete_untagged_after_days must be a whole number of at least 1."
  }
}

variable "reader_members" {
  description = "IAM members that may pull images (e.g. GKE node service accounts)."
  type        = list(string)
  default     = []
}

variable "labels" {
  description = "Labels on the repository."
  type        = map(string)
  default     = {}
}

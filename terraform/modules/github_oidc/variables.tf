variable "project_id" {
  description = "GCP project id the pool, the service accounts and their roles live in."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the only GitHub repository whose workflows may exchange their OIDC tokens here."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "environment" {
  description = "GitHub environment whose jobs may act as the deployer; jobs in ENVIRONMENT-plan may act as the planner."
  type        = string
}

variable "pool_id" {
  description = "Workload Identity pool id."
  type        = string
  default     = "github"
}

variable "provider_id" {
  description = "Workload Identity pool provider id."
  type        = string
  default     = "github-actions"
}

variable "deployer_account_id" {
  description = "Account id of the deploy service account (build push, terraform apply, deploy, promote)."
  type        = string
}

variable "planner_account_id" {
  description = "Account id of the read-only service account used by `cocusctl plan` in CI."
  type        = string
}

variable "deployer_project_roles" {
  description = "Predefined project roles of the deployer (justified where the root module lists them)."
  type        = list(string)
}

variable "planner_project_roles" {
  description = "Predefined read-only project roles of the planner."
  type        = list(string)
}

variable "grantable_roles" {
  description = "The only project roles the deployer may grant or revoke (IAM condition on projectIamAdmin)."
  type        = list(string)
  default     = []
}

variable "act_as_service_accounts" {
  description = "Service accounts (projects/P/serviceAccounts/EMAIL) the deployer may deploy workloads as."
  type        = list(string)
  default     = []
}

variable "artifact_repository_id" {
  description = "Artifact Registry repository the deployer pushes images to (writer on this repository only)."
  type        = string
}

variable "artifact_location" {
  description = "Region of the Artifact Registry repository."
  type        = string
}

variable "promotion_readers" {
  description = "Members (the next environment's deployer) that may read this environment's images and services to promote them."
  type        = list(string)
  default     = []
}

variable "state_bucket" {
  description = "GCS bucket of the Terraform state, or null (local state: no bucket bindings)."
  type        = string
  default     = null
}

variable "state_prefix" {
  description = "Object prefix of this environment's state in state_bucket."
  type        = string
  default     = null

  validation {
    condition     = var.state_prefix == null || can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.state_prefix))
    error_message = "state_prefix must be a path such as cocus-rag/staging."
  }
}

# Terraform and provider versions for both root modules (cloudrun/, gke/), each linking this file.
terraform {
  # 1.9+: validation conditions may refer to other variables.
  required_version = ">= 1.9"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 7.0"
    }
  }

  # Configured at init from the rendered backend.hcl (bucket, prefix): `cocusctl plan` passes
  # -backend-config=build/cocus/render/<env>/backend.hcl.
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = merge(var.labels, {
    environment = var.environment
    managed-by  = "terraform"
  })
}

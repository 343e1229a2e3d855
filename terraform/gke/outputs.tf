output "cluster_name" {
  description = "GKE cluster name."
  value       = module.cluster.name
}

output "cluster_endpoint" {
  description = "Control plane endpoint."
  value       = module.cluster.endpoint
}

output "cluster_ca_certificate" {
  description = "Cluster CA certificate (base64)."
  value       = module.cluster.ca_certificate
}

output "repository_url" {
  description = "Artifact Registry URL to push images to."
  value       = module.registry.repository_url
}

output "service_account_email" {
  description = "Runtime service account email (annotate the Kubernetes service account with it)."
  value       = module.runtime_sa.email
}

output "node_service_account_email" {
  description = "Nodes' service account email."
  value       = module.node_sa.email
}

output "workload_identity_annotation" {
  description = "Annotation for the Kubernetes service account."
  value       = { "iam.gke.io/gcp-service-account" = module.runtime_sa.email }
}

output "secret_ids" {
  description = "Secret ids (names only; values are never in Terraform)."
  value       = module.secrets.secret_ids
}

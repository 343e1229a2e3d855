output "name" {
  description = "Cluster name."
  value       = google_container_cluster.this.name
}

output "endpoint" {
  description = "Control plane endpoint (private IP when private_endpoint = true)."
  value       = google_container_cluster.this.endpoint
}

output "ca_certificate" {
  description = "Cluster CA certificate (base64)."
  value       = google_container_cluster.this.master_auth[0].cluster_ca_certificate
}

output "workload_pool" {
  description = "Workload Identity pool."
  value       = "${var.project_id}.svc.id.goog"
}

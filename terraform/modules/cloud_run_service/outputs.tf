output "name" {
  description = "Service name."
  value       = google_cloud_run_v2_service.this.name
}

output "uri" {
  description = "Service URL."
  value       = google_cloud_run_v2_service.this.uri
}

output "id" {
  description = "Service resource id."
  value       = google_cloud_run_v2_service.this.id
}

output "repository_id" {
  description = "Repository id."
  value       = google_artifact_registry_repository.this.repository_id
}

output "repository_url" {
  description = "Docker registry URL to push to: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY."
  value       = "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}

output "email" {
  description = "Service account email."
  value       = google_service_account.this.email
}

output "member" {
  description = "IAM member string: serviceAccount:EMAIL."
  value       = "serviceAccount:${google_service_account.this.email}"
}

output "name" {
  description = "Fully qualified resource name (projects/P/serviceAccounts/EMAIL)."
  value       = google_service_account.this.name
}

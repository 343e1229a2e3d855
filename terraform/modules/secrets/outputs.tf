output "secret_ids" {
  description = "Map of secret id to its full resource name."
  value       = { for k, s in google_secret_manager_secret.this : k => s.name }
}

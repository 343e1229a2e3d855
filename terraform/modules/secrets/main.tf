# Secrets are created EMPTY: no google_secret_manager_secret_version here, so a secret value never enters
# Terraform code or state. Values are added as new versions by `cocusctl secrets set` (or out of band) and
# the service pins the version number it reads.
resource "google_secret_manager_secret" "this" {
  for_each = toset(var.secret_ids)

  project   = var.project_id
  secret_id = each.value
  labels    = var.labels

  replication {
    auto {}
  }
}

# Per-secret binding: the runtime identity can read exactly these secrets, not every secret in the project.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = toset(var.secret_ids)

  project   = var.project_id
  secret_id = google_secret_manager_secret.this[each.value].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = var.accessor_member
}

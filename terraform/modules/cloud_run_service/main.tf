# The Cloud Run v2 service. OWNERSHIP (see terraform/README.md): Terraform owns the infrastructure fields
# (scaling, resources, service account, ingress, env and secret wiring, IAM); `cocusctl deploy` owns the
# release fields and changes them through the Admin API. Those release fields are listed in
# lifecycle.ignore_changes so a plan never reverts a release; tests/unit/test_terraform_hcl.py fails if one
# goes missing.
resource "google_cloud_run_v2_service" "this" {
  project             = var.project_id
  location            = var.region
  name                = var.name
  ingress             = var.ingress
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    service_account                  = var.service_account_email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "${var.timeout_s}s"
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    dynamic "vpc_access" {
      for_each = var.vpc_network == null ? [] : [1]
      content {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = var.vpc_network
          subnetwork = var.vpc_subnetwork
        }
      }
    }

    containers {
      image = var.image

      ports {
        container_port = var.container_port
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = var.env_vars
        content {
          name  = env.key
          value = env.value
        }
      }

      # Secrets come from Secret Manager at a pinned version; no value is ever in Terraform or the image.
      dynamic "env" {
        for_each = { for s in var.secrets : s.env => s }
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value.secret
              version = env.value.version
            }
          }
        }
      }

      startup_probe {
        dynamic "http_get" {
          for_each = var.startup_probe_path == null ? [] : [var.startup_probe_path]
          content {
            path = http_get.value
            port = var.container_port
          }
        }
        dynamic "tcp_socket" {
          for_each = var.startup_probe_path == null ? [1] : []
          content {
            port = var.container_port
          }
        }
        initial_delay_seconds = 0
        period_seconds        = 3
        failure_threshold     = 20
      }

      liveness_probe {
        http_get {
          path = var.health_path
          port = var.container_port
        }
        period_seconds = 15
      }
    }
  }

  # Initial traffic only; from then on traffic belongs to `cocusctl deploy/promote/split-traffic`.
  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    # Release-owned fields: changed by `cocusctl deploy`, never reverted by Terraform.
    ignore_changes = [
      template[0].containers[0].image,
      template[0].revision,
      template[0].labels,
      template[0].annotations,
      traffic,
      client,
      client_version,
    ]
  }
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  count = var.public ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.invoker"
  # Public by explicit configuration (infra.invoker: public); IAM-only is the default.
  member = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.public ? toset([]) : toset(var.invoker_members)

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.invoker"
  member   = each.value
}

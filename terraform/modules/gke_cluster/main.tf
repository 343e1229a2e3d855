locals {
  oauth_scopes = ["https://www.googleapis.com/auth/cloud-platform"]
}

# A regional, VPC-native, private-node cluster with Workload Identity and Shielded nodes.
# Autopilot or Standard is chosen by var.autopilot; in both cases nodes run as a dedicated service account.
resource "google_container_cluster" "this" {
  project             = var.project_id
  name                = var.name
  location            = var.region
  network             = var.network
  subnetwork          = var.subnetwork
  networking_mode     = "VPC_NATIVE"
  deletion_protection = var.deletion_protection
  resource_labels     = merge(var.labels, { managed-by = "terraform" })

  enable_autopilot = var.autopilot ? true : null
  # Standard: the default pool is removed; nodes come from google_container_node_pool.this below.
  remove_default_node_pool = var.autopilot ? null : true
  initial_node_count       = var.autopilot ? null : 1
  # Autopilot always uses Shielded nodes and Dataplane V2, and the provider rejects these fields next to
  # enable_autopilot (ConflictsWith); Standard sets them explicitly.
  #trivy:ignore:AVD-GCP-0055 Autopilot enforces Shielded GKE nodes itself; Standard clusters set true here.
  enable_shielded_nodes = var.autopilot ? null : true
  datapath_provider     = var.autopilot ? null : "ADVANCED_DATAPATH"
  enable_legacy_abac    = false

  ip_allocation_policy {
    cluster_secondary_range_name  = var.pods_range_name
    services_secondary_range_name = var.services_range_name
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = var.private_endpoint
    master_ipv4_cidr_block  = var.master_cidr
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_networks
      content {
        cidr_block   = cidr_blocks.value.cidr
        display_name = cidr_blocks.value.name
      }
    }
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  release_channel {
    channel = var.release_channel
  }

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  # Autopilot: the service account and scopes of auto-provisioned nodes.
  dynamic "cluster_autoscaling" {
    for_each = var.autopilot ? [1] : []
    content {
      auto_provisioning_defaults {
        service_account = var.node_service_account_email
        oauth_scopes    = local.oauth_scopes
      }
    }
  }

  # Standard: settings of the short-lived default pool (removed right after creation).
  dynamic "node_config" {
    for_each = var.autopilot ? [] : [1]
    content {
      service_account = var.node_service_account_email
      oauth_scopes    = local.oauth_scopes
      image_type      = "COS_CONTAINERD"
      metadata = {
        disable-legacy-endpoints = "true"
      }
      workload_metadata_config {
        mode = "GKE_METADATA"
      }
      shielded_instance_config {
        enable_secure_boot          = true
        enable_integrity_monitoring = true
      }
    }
  }

  lifecycle {
    ignore_changes = [node_config, initial_node_count]
  }
}

resource "google_container_node_pool" "this" {
  count = var.autopilot ? 0 : 1

  project  = var.project_id
  name     = "${var.name}-pool"
  location = var.region
  cluster  = google_container_cluster.this.name

  autoscaling {
    min_node_count = var.min_nodes
    max_node_count = var.max_nodes
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.machine_type
    service_account = var.node_service_account_email
    oauth_scopes    = local.oauth_scopes
    image_type      = "COS_CONTAINERD"
    labels          = var.labels
    metadata = {
      disable-legacy-endpoints = "true"
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }
}

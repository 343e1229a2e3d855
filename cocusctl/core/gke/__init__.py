"""The GKE target: the cocus-mvp chart installed with Helm, rolled out and checked through the Kubernetes API."""

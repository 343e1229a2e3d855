"""The local cluster's node agent (virtual-kubelet pattern): pods as Docker containers, Services, metrics.

One process per cluster, started by `cocusctl cluster start`. It registers a Node and renews its Lease,
runs each Pod bound to it as real containers with host networking on the pod's own loopback IP, probes
them and reports their status like a kubelet (`pods`), serves the kubelet log endpoint and the
metrics.k8s.io API (`server`, `metrics`), and stands in for kube-proxy on loopback ports (`proxy`).
"""

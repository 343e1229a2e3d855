"""A real local Kubernetes control plane for the GKE target (Debian's kubernetes 1.20 built from source).

`build` compiles and caches the binaries; `pki` and `kubeconfig` make its credentials; `control_plane`
starts, stops and inspects etcd, the API server, controller manager, scheduler and the node agent.
`build` uses the standard library only: the machine set-up step runs it before any venv exists.
"""

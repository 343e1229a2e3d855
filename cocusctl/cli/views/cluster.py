"""Human view of `cocusctl cluster …`: where the API is, how to use it, what runs, what fails and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.cluster.control_plane import ClusterState


def cluster_view(console: Console, state: ClusterState) -> None:
    from rich.markup import escape
    from rich.table import Table

    if state.deleted:
        console.print(f"cluster deleted ({state.home})")
        return
    if state.stopped or not state.running:
        verb = "stopped" if state.stopped else "not running"
        console.print(f"cluster {verb} (state kept in {state.home})")
        down = [c for c in state.components if not c.running]
        if state.running is False and not state.stopped and len(down) < len(state.components):
            console.print("down: " + ", ".join(c.name for c in down) + " (logs: " + down[0].log + ")")
        return
    verb = "started" if state.started else "running"
    built = " (control plane built and cached)" if state.built else ""
    # Paths and commands stay on one line each (copyable), whatever the terminal's width.
    console.print(f"cluster {verb}: Kubernetes {state.version} at {state.api}{built}", soft_wrap=True)
    console.print(f"  kubeconfig  {state.kubeconfig}  (context {state.context})", soft_wrap=True)
    console.print(f"  node        {state.node} {'Ready' if state.node_ready else 'NotReady'}, pod IPs {state.pod_cidr}",
                  soft_wrap=True)
    if state.binaries:
        console.print(f"  kubectl     {state.binaries}/kubectl --kubeconfig {state.kubeconfig}", soft_wrap=True)
    if state.services:
        table = Table("service", "port", "local address")
        for svc in state.services:
            for port, address in sorted(svc.ports.items()):
                table.add_row(f"{svc.namespace}/{svc.name}", port, address)
        console.print(table)
    if state.pods:
        table = Table("pod", "phase", "ready", "restarts", "ip", "reason")
        for pod in state.pods:
            table.add_row(f"{pod.namespace}/{pod.name}", pod.phase, "yes" if pod.ready else "no", str(pod.restarts),
                          pod.ip or "", pod.reason or "")
        console.print(table)
        for pod in state.pods:
            if pod.log_tail:
                console.print(f"last log lines of {pod.namespace}/{pod.name}:")
                for line in pod.log_tail:
                    console.print(f"  | {escape(line)}", highlight=False)

"""`cocusctl cluster start|stop|status|delete`: the local Kubernetes cluster for the GKE target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import OutputOption, output_value
from cocusctl.cli.views.cluster import cluster_view

if TYPE_CHECKING:
    from cocusctl.core.cluster.control_plane import ClusterState

app = typer.Typer(help="Run a local Kubernetes cluster (control plane built from Debian's source, pods in Docker).",
                  no_args_is_help=True, rich_markup_mode=None)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="COCUS_CLUSTER_HOME",
                 help="Cluster state: etcd data, credentials, kubeconfig, logs "
                      "(default ${XDG_STATE_HOME:-~/.local/state}/cocusctl/cluster)."),
]


@app.command("start")
def start(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", "-p", help="API server port on 127.0.0.1 (0 = a free one, kept).")] = 0,
    pod_cidr: Annotated[
        str | None, typer.Option("--pod-cidr", envvar="COCUS_CLUSTER_POD_CIDR",
                                 help="Loopback network for pod IPs (default 127.10.0.0/16).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each component.")] = 120.0,
    home: HomeOption = None,
    output: OutputOption = None,
) -> None:
    """Start the cluster (idempotent); returns once the API serves and the node is Ready.

    The first start builds the control plane from Debian's kubernetes source package (several minutes)
    and caches it in ${COCUS_CLUSTER_CACHE:-~/.cache/cocusctl/kubernetes}; later starts take seconds.
    """
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> ClusterState:
        from cocusctl.core.cluster import control_plane

        return control_plane.start(home, api_port=port, pod_cidr=pod_cidr, reporter=app_ctx.reporter,
                                   timeout=timeout)

    app_ctx.run("cluster start", action, cluster_view)


@app.command("stop")
def stop(ctx: typer.Context, home: HomeOption = None, output: OutputOption = None) -> None:
    """Stop the cluster's processes and its pods' containers; its state stays for the next start."""
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> ClusterState:
        from cocusctl.core.cluster import control_plane

        return control_plane.stop(home)

    app_ctx.run("cluster stop", action, cluster_view)


@app.command("delete")
def delete(ctx: typer.Context, home: HomeOption = None, output: OutputOption = None) -> None:
    """Stop the cluster and remove its state (the cached binaries stay)."""
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> ClusterState:
        from cocusctl.core.cluster import control_plane

        return control_plane.delete(home)

    app_ctx.run("cluster delete", action, cluster_view)


@app.command("status")
def status(ctx: typer.Context, home: HomeOption = None, output: OutputOption = None) -> None:
    """Show the cluster: API, kubeconfig, components, Services' loopback ports, pods (exit 3 when not running).

    A failing pod is shown with the last lines of its log.
    """
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> ClusterState:
        from cocusctl.core.cluster import control_plane
        from cocusctl.core.errors import NotAvailableError

        state = control_plane.status(home)
        if not state.running:
            raise NotAvailableError("the local cluster is not running", hint="start it with `cocusctl cluster start`",
                                    result=state)
        return state

    app_ctx.run("cluster status", action, cluster_view)

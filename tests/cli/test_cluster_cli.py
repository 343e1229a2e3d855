"""`cocusctl cluster …` without a running cluster: exit codes, the JSON envelope, bad input changes nothing."""

from __future__ import annotations

import json

from cocusctl.cli import app


def test_status_of_a_cluster_that_does_not_run_exits_3_with_its_state(runner, tmp_path):
    res = runner.invoke(app, ["cluster", "status", "--home", str(tmp_path / "c"), "-o", "json"])
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert doc["status"] == "error" and doc["errors"][0]["code"] == "not_available"
    data = doc["data"]
    assert data["running"] is False and data["context"] == "cocus-local"
    assert [c["name"] for c in data["components"]] == ["etcd", "kube-apiserver", "kube-controller-manager",
                                                       "kube-scheduler", "node-agent"]
    assert not (tmp_path / "c").exists()


def test_human_status_says_how_to_start(runner, tmp_path):
    res = runner.invoke(app, ["cluster", "status", "--home", str(tmp_path / "c")])
    assert res.exit_code == 3
    assert "cluster not running" in res.stdout
    assert "hint: start it with `cocusctl cluster start`" in res.stderr


def test_a_pod_cidr_off_loopback_is_refused_before_anything_starts(runner, tmp_path):
    home = tmp_path / "c"
    res = runner.invoke(app, ["cluster", "start", "--home", str(home), "--pod-cidr", "10.0.0.0/16"])
    assert res.exit_code == 2
    assert "--pod-cidr must be a loopback network" in res.stderr
    assert "Traceback" not in res.output
    assert not home.exists()


def test_stop_without_a_cluster_is_a_no_op(runner, tmp_path):
    res = runner.invoke(app, ["cluster", "stop", "--home", str(tmp_path / "c"), "-o", "json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["data"]["stopped"] is False


def test_view_of_a_running_cluster_with_a_failing_pod():
    from rich.console import Console

    from cocusctl.cli.views.cluster import cluster_view
    from cocusctl.core.cluster.control_plane import ClusterState, PodState, ServiceState

    state = ClusterState(
        home="/h", running=True, api="https://127.0.0.1:6443", kubeconfig="/h/kubeconfig", context="cocus-local",
        version="1.20.2", binaries="/c/bin", node="cocus-node", node_ready=True, pod_cidr="127.10.0.0/16",
        components=[], started=True,
        services=[ServiceState(namespace="shop", name="web", ports={"80/TCP": "127.0.0.1:41234"})],
        pods=[PodState(namespace="shop", name="web-1", phase="Running", ready=False, restarts=2, ip="127.10.0.2",
                       reason="CrashLoopBackOff", log_tail=["starting", "fatal: [bad] config"])],
    )
    console = Console(width=100, no_color=True, record=True, file=None)
    with console.capture() as captured:
        cluster_view(console, state)
    text = captured.get()
    assert text.splitlines()[:4] == [
        "cluster started: Kubernetes 1.20.2 at https://127.0.0.1:6443",
        "  kubeconfig  /h/kubeconfig  (context cocus-local)",
        "  node        cocus-node Ready, pod IPs 127.10.0.0/16",
        "  kubectl     /c/bin/kubectl --kubeconfig /h/kubeconfig",
    ]
    assert "│ shop/web │ 80/TCP │ 127.0.0.1:41234 │" in text
    assert "│ shop/web-1 │ Running │ no    │ 2        │ 127.10.0.2 │ CrashLoopBackOff │" in text
    assert text.endswith("last log lines of shop/web-1:\n  | starting\n  | fatal: [bad] config\n")


def test_first_start_without_build_prerequisites_says_what_to_install(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("COCUS_CLUSTER_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    res = runner.invoke(app, ["cluster", "start", "--home", str(tmp_path / "c")])
    assert res.exit_code == 3
    assert "error: building Kubernetes needs " in res.stderr
    assert "hint: apt-get install -o DPkg::Lock::Timeout=600 golang-1.19-go" in res.stderr
    assert not (tmp_path / "c").exists()

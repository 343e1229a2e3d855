"""The GKE release on the real local cluster: the cocus-mvp chart installed by the real helm (pyhelm3), rolled
out by the real controller manager, pods run by the node agent, traffic through its Service proxy.

Load goes to the Service's loopback port only, from a few threads, bounded in count and time. Each test gets
its own namespace.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from cocusctl.core.errors import DeployError, ExitCode, Interrupted, UsageError
from cocusctl.core.gke import values as v
from cocusctl.core.gke.release import GkePlan, GkeRelease
from cocusctl.core.gke.workloads import Smoke
from cocusctl.core.reporting import RecordingReporter
from tests.integration.cluster_load import Load, sample
from tests.support import cloudrun as support

pytestmark = [pytest.mark.kubernetes, pytest.mark.docker, pytest.mark.registry, pytest.mark.helm, pytest.mark.slow]

CHART = Path(__file__).resolve().parents[2] / "helm" / "cocus-mvp"
RELEASE = "rag"
FAST_PROBES = {
    "startup": {"path": "/readyz", "periodSeconds": 1, "timeoutSeconds": 2, "failureThreshold": 60},
    "readiness": {"path": "/readyz", "periodSeconds": 1, "timeoutSeconds": 2, "failureThreshold": 3,
                  "successThreshold": 1},
    "liveness": {"path": "/healthz", "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 3},
}


@pytest.fixture(scope="module")
def images(docker_engine, local_registry, base_image) -> dict[str, support.TestImage]:
    return {mode: support.build_test_image(version, mode, registry=local_registry, repo="cocus-test/gke-app")
            for version, mode in (("v1", "ok"), ("v3", "crash"), ("v4", "badquery"))}


@dataclass
class Env:
    release: GkeRelease
    plan: GkePlan
    reporter: RecordingReporter

    def api(self, image: support.TestImage, **env: str) -> dict:
        return v.with_revision(RELEASE, {
            "image": {"repository": image.ref.partition("@")[0], "digest": image.digest,
                      "pullPolicy": "IfNotPresent"},
            "env": dict(env),
            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
        })

    def deploy(self, image: support.TestImage, strategy: str = "all", **env: str):
        return self.release.deploy(self.plan, self.api(image, **env), strategy=strategy)

    def url(self) -> str:
        return self.release.cluster.service_url(self.plan.namespace, RELEASE)

    def helm_revisions(self) -> list[int]:
        return [h.revision for h in self.release.helm.history(RELEASE, namespace=self.plan.namespace)]


@pytest.fixture
def gke(kube_cluster, namespace: str, helm_bin: str) -> Env:
    from cocusctl.adapters.helm import Helm
    from cocusctl.adapters.kubernetes_workloads import KubernetesWorkloads

    reporter = RecordingReporter()
    base = {"fullnameOverride": RELEASE, "listenOnPodIP": True, "preStopSleepSeconds": 1,
            "gracefulShutdownSeconds": 2, "autoscaling": {"enabled": False}, "replicaCount": 2,
            "probes": FAST_PROBES}
    plan = GkePlan(environment="it", release=RELEASE, namespace=namespace, chart=CHART, base_values=base,
                   canary_steps=(25, 50, 100), step_pause_s=1.0, ready_timeout_s=120,
                   smoke=Smoke(query="How do I create a virtual environment?"))
    release = GkeRelease(Helm.locate(kubeconfig=Path(kube_cluster.kubeconfig)),
                         KubernetesWorkloads.from_kubeconfig(kube_cluster.kubeconfig), reporter)
    return Env(release, plan, reporter)


def test_first_deploy_then_the_same_deploy_changes_nothing(gke: Env, images) -> None:
    first = gke.deploy(images["ok"])
    assert first.outcome == "deployed" and first.created and first.target == "gke"
    assert [(r.revision, r.percent) for r in first.traffic_after] == [(first.revision, 100)]
    assert first.url.startswith("http://127.0.0.1:")
    revisions = gke.helm_revisions()
    again = gke.deploy(images["ok"])
    assert again.outcome == "unchanged" and not again.changed
    assert gke.helm_revisions() == revisions == [1]


def test_rolling_upgrade_under_load_loses_no_request(gke: Env, images) -> None:
    first = gke.deploy(images["ok"])
    with Load(gke.url()) as load:
        time.sleep(1)
        second = gke.deploy(images["ok"], COCUS_LOG_LEVEL="DEBUG")  # a settings change is a new revision
        time.sleep(1)
    assert second.revision != first.revision and second.outcome == "deployed"
    assert load.failures == []
    assert load.served[first.revision] > 0 and load.served[second.revision] > 0
    status = gke.release.status(gke.plan)
    assert status.ready and [(r.revision, r.percent) for r in status.traffic] == [(second.revision, 100)]
    rows = {r.name: r for r in status.revisions}
    assert rows[second.revision].digest == images["ok"].digest and rows[second.revision].ready is True
    assert rows[first.revision].percent == 0 and rows[first.revision].ready is None  # no pods left


def test_crashing_image_rolls_back_under_load_with_no_failed_request(gke: Env, images) -> None:
    first = gke.deploy(images["ok"])
    with Load(gke.url()) as load:
        with pytest.raises(DeployError) as info:
            gke.deploy(images["crash"])
        time.sleep(1)
    assert info.value.exit_code == ExitCode.DEPLOY_FAILED
    assert "CrashLoopBackOff" in info.value.message or "restarted" in info.value.message
    assert "FATAL: cannot open the vector index" in info.value.message  # the pod's own last log lines
    assert f"previous revision restored: {first.revision}" in info.value.message
    assert load.failures == [] and set(load.served) == {first.revision}
    status = gke.release.status(gke.plan)
    assert [(r.revision, r.percent) for r in status.traffic] == [(first.revision, 100)]
    assert len(gke.helm_revisions()) == 3  # install, failed upgrade, rollback


def test_first_deploy_that_fails_leaves_nothing_behind(gke: Env, images) -> None:
    with pytest.raises(DeployError, match="not ready"):
        gke.deploy(images["crash"])
    assert gke.helm_revisions() == []
    assert gke.release.status(gke.plan).exists is False


def test_canary_steps_by_replica_share_under_load(gke: Env, images) -> None:
    first = gke.deploy(images["ok"])
    shares: list[tuple[int, Counter]] = []
    original_hold = gke.release._hold

    def hold_and_measure(plan, w, rev):  # measure the split while each step holds
        shares.append((len(shares), sample(gke.url(), 200)))
        original_hold(plan, w, rev)

    gke.release._hold = hold_and_measure  # type: ignore[method-assign]
    with Load(gke.url(), threads=2) as load:
        second = gke.deploy(images["ok"], strategy="canary", COCUS_LOG_LEVEL="DEBUG")
    assert load.failures == []
    assert second.steps == ["smoke-canary", "25", "50", "100", "smoke"]
    # 2 stable pods: 25 % -> 1 canary pod (1 of 3 = 33 %), 50 % -> 2 canary pods (50 %).
    expected = [33.3, 50.0]
    for (step, seen), want in zip(shares, expected, strict=True):
        got = 100 * seen[second.revision] / sum(seen.values())
        assert abs(got - want) <= 5, (step, seen)
    assert [(r.revision, r.percent) for r in second.traffic_after] == [(second.revision, 100)]
    assert first.revision in {r.revision for r in second.traffic_before}


def test_canary_that_fails_its_query_is_stopped_at_the_first_step(gke: Env, images) -> None:
    first = gke.deploy(images["ok"])
    with pytest.raises(DeployError, match="smoke test failed: POST /v1/query on pod") as info:
        gke.deploy(images["badquery"], strategy="canary")
    assert info.value.result.steps == []  # never got past the candidate's own smoke test
    assert [(r.revision, r.percent) for r in gke.release.status(gke.plan).traffic] == [(first.revision, 100)]


def test_split_traffic_then_rollback(gke: Env, images) -> None:
    first = gke.deploy(images["ok"])
    second = gke.deploy(images["ok"], COCUS_LOG_LEVEL="DEBUG")
    split = gke.release.split_traffic(gke.plan, [f"{second.revision}=50", f"{first.revision}=50"])
    assert split.changed and {(r.revision, r.percent) for r in split.traffic_after} == {
        (first.revision, 50), (second.revision, 50)}
    with pytest.raises(UsageError, match="unknown revision"):
        gke.release.split_traffic(gke.plan, [f"{second.revision}=50", "rag-nope=50"])
    back = gke.release.split_traffic(gke.plan, [f"{second.revision}=100"])
    assert [(r.revision, r.percent) for r in back.traffic_after] == [(second.revision, 100)]
    rolled = gke.release.rollback(gke.plan)
    assert rolled.action == "rollback"
    assert [(r.revision, r.percent) for r in rolled.traffic_after] == [(first.revision, 100)]
    latest = gke.release.split_traffic(gke.plan, [], to_latest=True)  # the newest revision made
    assert [(r.revision, r.percent) for r in latest.traffic_after] == [(second.revision, 100)]


def test_upgrading_a_release_of_chart_0_2_loses_no_request(gke: Env, images, tmp_path: Path) -> None:
    """Chart 0.2's Service selected every API pod, 0.3's selects `cocus.dev/serving: "true"`: the deploy labels
    0.2's pods first, so the Service never runs empty while their successors start."""
    old_chart = tmp_path / "cocus-mvp"
    shutil.copytree(CHART, old_chart)  # without the serving label: the 0.2 chart's selectors and pods
    for name in ("templates/service.yaml", "templates/deployment.yaml"):
        path = old_chart / name
        path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                                if "cocus.dev/serving" not in line))
    meta = old_chart / "Chart.yaml"
    meta.write_text(meta.read_text().replace("version: 0.3.0", "version: 0.2.0"))
    first = gke.release.deploy(dataclasses.replace(gke.plan, chart=old_chart), gke.api(images["ok"]))
    assert all(not p.labelled for p in gke.release.workloads(gke.plan).pods())
    with Load(gke.url()) as load:
        time.sleep(1)
        second = gke.deploy(images["ok"], COCUS_LOG_LEVEL="DEBUG")
        time.sleep(1)
    assert load.failures == [] and load.served[first.revision] > 0 and load.served[second.revision] > 0
    assert [(r.revision, r.percent) for r in second.traffic_after] == [(second.revision, 100)]


class InterruptWhileHolding(RecordingReporter):
    """Ctrl-C arrives while a canary step holds (raised where the SIGINT handler would raise it)."""

    def info(self, message: str) -> None:
        super().info(message)
        if message.startswith("holding"):
            raise KeyboardInterrupt


def test_ctrl_c_during_a_canary_step_restores_the_previous_revision(gke: Env, images) -> None:
    first = gke.deploy(images["ok"])
    gke.release.reporter = InterruptWhileHolding()
    with pytest.raises(Interrupted) as info:
        gke.deploy(images["ok"], strategy="canary", COCUS_LOG_LEVEL="DEBUG")
    assert info.value.exit_code == ExitCode.INTERRUPTED
    assert f"previous revision {first.revision} restored" in info.value.message
    status = gke.release.status(gke.plan)
    assert [(r.revision, r.percent) for r in status.traffic] == [(first.revision, 100)]
    assert status.ready and gke.release.cluster.deployment(gke.plan.namespace, f"{RELEASE}-canary") is None

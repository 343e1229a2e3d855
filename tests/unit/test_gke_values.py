"""GKE lifecycle arithmetic and parsing: canary sizes, traffic shares, release values, rollout and pod states."""

from __future__ import annotations

import pytest

from cocusctl.core.gke import values as v
from cocusctl.core.gke.canary import canary_replicas, share
from cocusctl.core.gke.model import Pod, Rollout
from cocusctl.core.gke.workloads import pod_shares

DIGEST = "sha256:" + "0123456789abcdef" * 4
API = {"image": {"repository": "r/rag", "digest": DIGEST}, "env": {"COCUS_LOG_LEVEL": "INFO"},
       "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}}


@pytest.mark.parametrize(
    ("percent", "stable", "pods", "effective"),
    [(10, 9, 1, 10), (50, 9, 9, 50), (10, 2, 1, 33), (50, 2, 2, 50), (90, 1, 9, 90), (25, 3, 1, 25), (1, 2, 1, 33)],
)
def test_canary_pods_beside_the_stable_ones(percent: int, stable: int, pods: int, effective: int) -> None:
    assert canary_replicas(percent, stable) == pods
    assert share(pods, stable) == effective


@pytest.mark.parametrize("percent", [0, 100, -5])
def test_a_canary_share_is_strictly_between_0_and_100(percent: int) -> None:
    with pytest.raises(ValueError):
        canary_replicas(percent, 3)


def test_pod_shares_sum_to_100() -> None:
    assert pod_shares({"a": 1, "b": 2}) == {"a": 33, "b": 67}
    assert pod_shares({"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert pod_shares({}) == {}


def test_revision_name_follows_digest_and_settings() -> None:
    name = v.revision_name("cocus-rag", API)
    assert name.startswith("cocus-rag-0123456-") and len(name) == len("cocus-rag-0123456-") + 4
    assert v.revision_name("cocus-rag", {**API, "revision": "ignored"}) == name
    assert v.revision_name("cocus-rag", {**API, "env": {"COCUS_LOG_LEVEL": "DEBUG"}}) != name
    other = {**API, "image": {"repository": "r/rag", "digest": "sha256:" + "f" * 64}}
    assert v.revision_name("cocus-rag", other).startswith("cocus-rag-fffffff-")


def test_release_values_of_each_state() -> None:
    base = {"fullnameOverride": "rag", "gateway": {"enabled": False}}
    stable = v.with_revision("rag", API)
    candidate = v.with_revision("rag", {**API, "env": {"COCUS_LOG_LEVEL": "DEBUG"}})
    plain = v.stable_values(base, stable)
    assert plain == {**base, "api": stable, "canary": {"enabled": False}}
    assert v.canary_api(plain) is None
    split = v.canary_values(base, stable, candidate, replicas=3, weight=25)
    assert split["canary"] == {"enabled": True, "replicas": 3, "serving": True, "api": candidate}
    gated = v.canary_values(base, stable, candidate, replicas=1, weight=0, serving=False)
    assert gated["canary"]["serving"] is False and v.canary_api(gated) == candidate
    assert split["gateway"] == {"enabled": False}  # no weights without a gateway
    assert v.canary_api(split) == candidate
    routed = v.canary_values({**base, "gateway": {"enabled": True, "name": "gw"}}, stable, candidate, replicas=1,
                             weight=25)
    assert routed["gateway"] == {"enabled": True, "name": "gw", "canaryWeight": 25}
    assert base == {"fullnameOverride": "rag", "gateway": {"enabled": False}}  # inputs never changed
    assert v.image_ref(stable) == f"r/rag@{DIGEST}"


def _deployment(**status: int) -> dict:
    return {"metadata": {"name": "rag", "generation": 4}, "spec": {"replicas": 3},
            "status": {"observedGeneration": 4, **status}}


def test_rollout_is_done_only_with_every_replica_updated_and_available_and_no_old_one() -> None:
    assert Rollout.from_deployment(_deployment(replicas=3, updatedReplicas=3, availableReplicas=3)).done
    old_left = Rollout.from_deployment(_deployment(replicas=4, updatedReplicas=3, availableReplicas=4))
    assert not old_left.done and old_left.describe() == "rag: 3/3 updated, 4/3 available, 1 old"
    assert not Rollout.from_deployment(_deployment(replicas=3, updatedReplicas=3, availableReplicas=2)).done
    stale = _deployment(replicas=3, updatedReplicas=3, availableReplicas=3)
    stale["status"]["observedGeneration"] = 3
    assert not Rollout.from_deployment(stale).done
    stuck = _deployment(replicas=4, updatedReplicas=1, availableReplicas=3)
    stuck["status"]["conditions"] = [{"type": "Progressing", "reason": "ProgressDeadlineExceeded",
                                      "message": 'ReplicaSet "rag-5d" has timed out progressing.'}]
    assert Rollout.from_deployment(stuck).stalled == 'ReplicaSet "rag-5d" has timed out progressing.'


def _pod(state: dict, restarts: int = 0, last: dict | None = None) -> dict:
    return {"metadata": {"name": "rag-1", "labels": {"cocus.dev/track": "canary", "cocus.dev/revision": "rag-x"}},
            "spec": {"containers": [{"image": "r/rag@" + DIGEST}]},
            "status": {"podIP": "127.0.0.9", "conditions": [{"type": "Ready", "status": "False"}],
                       "containerStatuses": [{"restartCount": restarts, "state": state,
                                              "lastState": {"terminated": last} if last else {}}]}}


def test_a_crashing_or_unstartable_pod_is_a_failure_at_once() -> None:
    crash = Pod.from_json(_pod({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}, 1,
                               {"exitCode": 3, "reason": "Error"}))
    assert crash.failure() == "pod rag-1 is CrashLoopBackOff: back-off 10s (last run: exit 3 (Error))"
    assert (crash.track, crash.revision, crash.ip, crash.ready) == ("canary", "rag-x", "127.0.0.9", False)
    restarted = Pod.from_json(_pod({"running": {}}, 2, {"exitCode": 137, "reason": "OOMKilled"}))
    assert restarted.failure() == "pod rag-1 restarted 2 times (last run: exit 137 (OOMKilled))"
    assert Pod.from_json(_pod({"waiting": {"reason": "ContainerCreating"}})).failure() == ""
    assert "ImagePullBackOff" in Pod.from_json(_pod({"waiting": {"reason": "ImagePullBackOff"}})).failure()


def test_a_pod_serves_unless_labelled_otherwise() -> None:
    pod = _pod({"running": {}})
    old_chart = Pod.from_json(pod)  # chart 0.2's Service selected every API pod
    assert old_chart.serving and not old_chart.labelled
    pod["metadata"]["labels"]["cocus.dev/serving"] = "false"
    gated = Pod.from_json(pod)
    assert not gated.serving and gated.labelled
    pod["metadata"]["labels"]["cocus.dev/serving"] = "true"
    assert Pod.from_json(pod).serving

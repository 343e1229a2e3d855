"""The deploy orchestration with an in-memory Cloud Run (the real API is exercised in tests/integration)."""

from __future__ import annotations

import pytest

from cocusctl.core.cloudrun.api import RevisionNotReady
from cocusctl.core.cloudrun.deploy import Deployer, DeployPlan
from cocusctl.core.cloudrun.images import parse_image_ref
from cocusctl.core.cloudrun.model import (
    Condition,
    RevisionInfo,
    RevisionSpec,
    ServiceState,
    TrafficEntry,
    TrafficStatus,
)
from cocusctl.core.config import CloudRunSettings
from cocusctl.core.errors import DeployError, Interrupted, OperationTimeout
from cocusctl.core.reporting import RecordingReporter

GOOD = "127.0.0.1:5000/app@sha256:" + "a" * 64
GOOD2 = "127.0.0.1:5000/app@sha256:" + "b" * 64
CRASH = "127.0.0.1:5000/app@sha256:" + "c" * 64


class InMemoryCloudRun:
    """Follows the CloudRunApi protocol; images whose digest starts with 'c' crash."""

    endpoint = "memory://"
    is_emulator = False

    def __init__(self) -> None:
        self.traffic: list[TrafficEntry] = []
        self.revisions: dict[str, RevisionInfo] = {}
        self.updates: list[list[TrafficEntry]] = []
        self.exists = False
        self.http_status = 200
        self.latest = ""
        self.created = ""

    def _state(self) -> ServiceState:
        statuses = tuple(TrafficStatus(t.revision or self.latest, t.percent, t.tag,
                                       f"http://tag-{t.tag}" if t.tag else "") for t in self.traffic)
        return ServiceState("svc", "http://svc", tuple(self.traffic), statuses, self.latest, self.created, True)

    def _add(self, spec: RevisionSpec) -> None:
        crash = "@sha256:c" in spec.image
        cond = Condition("Ready", "FAILED" if crash else "SUCCEEDED", "container exited with code 3" if crash else "")
        self.revisions[spec.revision] = RevisionInfo(spec.revision, spec.image, str(len(self.revisions)),
                                                     not crash, (cond,), log_uri="mem")
        self.created = spec.revision
        if crash:
            raise RevisionNotReady(f"Revision '{spec.revision}' is not ready and cannot serve traffic.")
        self.latest = spec.revision

    def get_service(self, service):
        return self._state() if self.exists else None

    def create_service(self, service, spec, traffic, timeout):
        self.exists = True
        self.traffic = list(traffic)
        self._add(spec)
        return self._state()

    def update_service(self, service, *, spec, traffic, timeout, validate_only=False):
        if validate_only:
            return self._state()
        self.updates.append(list(traffic))
        if spec is not None:
            self._add(spec)
        self.traffic = list(traffic)
        return self._state()

    def delete_service(self, service, timeout):
        self.exists = False

    def list_revisions(self, service):
        return list(self.revisions.values())

    def get_revision(self, service, revision):
        return self.revisions.get(revision)

    def revision_logs(self, revision, tail=20):
        return "booting\nFATAL: index missing\n" if not revision.ready else ""

    def request_counts(self, service):
        return None

    def http(self, method, url, *, json_body=None, timeout=10.0, headers=None):
        return self.http_status

    def http_json(self, method, url, *, json_body=None, timeout=10.0, headers=None):
        return self.http_status, None


def _plan(image: str, **settings) -> DeployPlan:
    s = CloudRunSettings(**{"step_pause_s": 0.0, "smoke_query": "q", **settings})
    return DeployPlan.from_settings("dev", "svc", parse_image_ref(image), s, environ={})


def _deploy(api: InMemoryCloudRun, image: str, sleep=lambda s: None, **settings):
    return Deployer(api, RecordingReporter(), sleep=sleep).deploy(_plan(image, **settings))


def test_canary_moves_through_every_step_then_pins_100():
    api = InMemoryCloudRun()
    first = _deploy(api, GOOD)
    result = _deploy(api, GOOD2, strategy="canary")
    old, new = first.revision, result.revision
    assert [[(t.revision, t.percent, t.tag) for t in u] for u in api.updates] == [
        [(old, 100, ""), (new, 0, "candidate")],
        [(old, 90, ""), (new, 10, "candidate")],
        [(old, 50, ""), (new, 50, "candidate")],
        [(new, 100, "candidate")],
    ]
    assert result.steps == ["candidate", "smoke", "10", "50", "100"]


def test_crashing_revision_restores_exactly_and_reports_logs():
    api = InMemoryCloudRun()
    first = _deploy(api, GOOD)
    before = list(api.traffic)
    with pytest.raises(DeployError) as err:
        _deploy(api, CRASH)
    assert "FATAL: index missing" in err.value.message
    assert "previous traffic restored" in err.value.message
    assert api.traffic == before and api.updates[-1] == before
    assert first.revision in err.value.message


def test_a_known_failed_revision_is_not_retried():
    api = InMemoryCloudRun()
    _deploy(api, GOOD)
    with pytest.raises(DeployError):
        _deploy(api, CRASH)
    n = len(api.updates)
    with pytest.raises(DeployError, match="container exited with code 3"):
        _deploy(api, CRASH)
    assert len(api.updates) == n  # nothing touched the second time


def test_smoke_failure_restores():
    api = InMemoryCloudRun()
    _deploy(api, GOOD)
    before = list(api.traffic)
    api.http_status = 500
    with pytest.raises(DeployError, match="smoke test failed: GET /readyz .* HTTP 500"):
        _deploy(api, GOOD2)
    assert api.traffic == before


def test_ctrl_c_while_holding_a_step_restores():
    api = InMemoryCloudRun()
    _deploy(api, GOOD)
    before = list(api.traffic)

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="previous traffic restored"):
        _deploy(api, GOOD2, sleep=interrupt, strategy="canary", step_pause_s=5.0)
    assert api.traffic == before
    assert any(u[-1].percent == 10 for u in api.updates)  # it was interrupted after the 10 % step


def test_timeout_restores():
    api = InMemoryCloudRun()
    _deploy(api, GOOD)
    before = list(api.traffic)
    real = api.update_service

    def slow(service, *, spec, traffic, timeout, validate_only=False):
        if spec is not None:
            raise OperationTimeout("updating service svc did not finish within 1s")
        return real(service, spec=spec, traffic=traffic, timeout=timeout)

    api.update_service = slow  # type: ignore[method-assign]
    with pytest.raises(OperationTimeout, match="previous traffic restored"):
        _deploy(api, GOOD2)
    assert api.traffic == before


def test_failed_first_deploy_removes_the_service():
    api = InMemoryCloudRun()
    with pytest.raises(DeployError):
        _deploy(api, CRASH)
    assert api.exists is False


def test_same_deploy_twice_is_a_no_op():
    api = InMemoryCloudRun()
    _deploy(api, GOOD)
    n = len(api.updates)
    again = _deploy(api, GOOD)
    assert (again.created, again.changed) == (False, False) and len(api.updates) == n


def test_smoke_key_comes_from_the_named_variable_and_is_not_in_repr():
    s = CloudRunSettings(smoke_api_key_env="MY_KEY")
    plan = DeployPlan.from_settings("dev", "svc", parse_image_ref(GOOD), s, environ={"MY_KEY": "s3cret"})
    assert plan.smoke_api_key == "s3cret" and "s3cret" not in repr(plan)

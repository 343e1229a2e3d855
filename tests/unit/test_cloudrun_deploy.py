"""The deploy orchestration with an in-memory Cloud Run (the real API is exercised in tests/integration)."""

from __future__ import annotations

import pytest

from cocusctl.core.cloudrun.deploy import Deployer, DeployPlan
from cocusctl.core.config import ReleaseSettings, RevisionSettings
from cocusctl.core.errors import DeployError, Interrupted, OperationTimeout
from cocusctl.core.images import ImageRef
from cocusctl.core.reporting import RecordingReporter
from tests.support.memory_cloudrun import CRASH, GOOD, GOOD2, InMemoryCloudRun


def _plan(image: str, **settings) -> DeployPlan:
    release = ReleaseSettings(**{"step_pause_s": 0.0, "smoke_query": "q", **settings})
    return DeployPlan.from_settings("dev", "svc", ImageRef.pinned(image), RevisionSettings(), release, environ={})


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
    release = ReleaseSettings(smoke_api_key_env="MY_KEY")
    plan = DeployPlan.from_settings("dev", "svc", ImageRef.pinned(GOOD), RevisionSettings(), release,
                                    environ={"MY_KEY": "s3cret"})
    assert plan.smoke_api_key == "s3cret" and "s3cret" not in repr(plan)

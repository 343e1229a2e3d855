"""The emulator speaks the Cloud Run Admin API v2 as the official `google-cloud-run` client expects it.

Every call goes through `google.cloud.run_v2` with `transport="rest"` against a real emulator process;
revisions run as real containers built from the local base image.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

PARENT = "projects/emu-test/locations/europe-west1"


@pytest.fixture(scope="module")
def images(docker_engine, local_registry, base_image):
    from tests.support.cloudrun import build_test_image

    return {
        "v1": build_test_image("v1", registry=local_registry),
        "v2": build_test_image("v2", registry=local_registry),
        "crash": build_test_image("v1", "crash", registry=local_registry),
        "degrade": build_test_image("v1", "degrade", registry=local_registry),
    }


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory) -> str:
    """The local secret store this module's emulator resolves Secret Manager references from."""
    return str(tmp_path_factory.mktemp("secrets") / "local-secrets.json")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory, images, secrets_file):
    from tests.support.cloudrun import emulator_process

    home = tmp_path_factory.mktemp("emu-api")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COCUS_SECRETS_FILE", secrets_file)
        with emulator_process(home) as info:
            yield info


@pytest.fixture(scope="module")
def clients(emulator):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import run_v2

    opts = ClientOptions(api_endpoint=emulator.endpoint)
    kw = {"transport": "rest", "client_options": opts, "credentials": AnonymousCredentials()}
    return run_v2.ServicesClient(**kw), run_v2.RevisionsClient(**kw)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.loads(resp.read())


def _service(image: str, **container):
    from google.cloud import run_v2

    return run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(image=image, **container)]))


def _rev_target(revision: str, percent: int, tag: str = ""):
    from google.cloud import run_v2

    return run_v2.TrafficTarget(
        type_=run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION,
        revision=revision, percent=percent, tag=tag,
    )


def test_service_lifecycle_with_the_official_client(clients, images, docker_engine):
    from google.api_core import exceptions
    from google.cloud import run_v2

    services, revisions = clients
    svc = _service(
        images["v1"].ref,
        env=[run_v2.EnvVar(name="GREETING", value="hello")],
        args=["/app/app.py", "--extra"],
        command=["python3"],
        resources=run_v2.ResourceRequirements(limits={"memory": "256Mi", "cpu": "1"}),
    )
    op = services.create_service(parent=PARENT, service=svc, service_id="life")
    created = op.result(timeout=60)
    assert created.name == f"{PARENT}/services/life"
    assert created.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
    rev1 = created.latest_ready_revision.rsplit("/", 1)[1]
    assert rev1.startswith("life-00001-")
    assert created.uri.startswith("http://127.0.0.1:")
    [status] = created.traffic_statuses
    assert (status.revision, status.percent) == (rev1, 100)

    # The revision really runs: env from the template plus Cloud Run's own, command/args, $PORT.
    body = _get(created.uri)
    assert body["revision"] == rev1
    assert body["env"]["GREETING"] == "hello"
    assert body["env"]["K_SERVICE"] == "life"
    assert body["env"]["K_CONFIGURATION"] == "life"
    assert body["env"]["K_REVISION"] == rev1
    assert body["argv"] == ["/app/app.py", "--extra"]
    [container] = docker_engine.containers.list(filters={"label": f"cocus.emulator.revision={rev1}"})
    host = container.attrs["HostConfig"]
    assert (host["NetworkMode"], host["Memory"], host["NanoCpus"]) == ("host", 256 * 2**20, 10**9)

    # Duplicate create: 409 -> Conflict.  Unknown service: 404 -> NotFound.
    with pytest.raises(exceptions.Conflict):
        services.create_service(parent=PARENT, service=svc, service_id="life")
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=f"{PARENT}/services/nope")

    # Update that sends back every output-only field and changes nothing: no new revision.
    current = services.get_service(name=f"{PARENT}/services/life")
    current.labels["team"] = "rag"
    updated = services.update_service(service=current).result(timeout=60)
    assert updated.latest_created_revision == created.latest_created_revision
    assert updated.labels["team"] == "rag"
    assert updated.uid == created.uid and updated.create_time == created.create_time
    assert int(updated.generation) == 2
    assert len(list(revisions.list_revisions(parent=created.name))) == 1

    # A template change makes a new revision; with explicit no-traffic + tag it gets none.
    current = services.get_service(name=f"{PARENT}/services/life")
    current.template.containers[0].image = images["v2"].ref
    current.template.revision = "life-v2"
    del current.traffic[:]
    current.traffic.extend([_rev_target(rev1, 100), _rev_target("life-v2", 0, "candidate")])
    updated = services.update_service(service=current).result(timeout=60)
    assert updated.latest_ready_revision.endswith("/life-v2")
    by_tag = {t.tag: t for t in updated.traffic_statuses if t.tag}
    assert _get(by_tag["candidate"].uri)["revision"] == "life-v2"
    assert _get(created.uri)["revision"] == rev1
    req = urllib.request.Request(created.uri, headers={"Host": "candidate---life.local"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
        assert json.loads(resp.read())["revision"] == "life-v2"

    # update_mask: only traffic is taken from the request.
    current = services.get_service(name=f"{PARENT}/services/life")
    current.template.containers[0].image = images["crash"].ref  # ignored: not in the mask
    del current.traffic[:]
    current.traffic.extend([_rev_target("life-v2", 100)])
    request = run_v2.UpdateServiceRequest(service=current, update_mask={"paths": ["traffic"]})
    updated = services.update_service(request=request).result(timeout=60)
    assert updated.template.containers[0].image == images["v2"].ref
    assert [(t.revision, t.percent) for t in updated.traffic_statuses] == [("life-v2", 100)]
    assert _get(created.uri)["revision"] == "life-v2"

    # Revisions: get, list (newest first), delete (not one that serves), operations get.
    names = [r.name.rsplit("/", 1)[1] for r in revisions.list_revisions(parent=created.name)]
    assert names == ["life-v2", rev1]
    got = revisions.get_revision(name=f"{created.name}/revisions/life-v2")
    assert got.containers[0].image == images["v2"].ref
    with pytest.raises(exceptions.BadRequest):
        revisions.delete_revision(name=f"{created.name}/revisions/life-v2")
    revisions.delete_revision(name=f"{created.name}/revisions/{rev1}").result(timeout=30)
    with pytest.raises(exceptions.NotFound):
        revisions.get_revision(name=f"{created.name}/revisions/{rev1}")
    op = services.get_service  # the long-running operation is readable by name
    raw_op = services.update_service(service=services.get_service(name=created.name))
    assert raw_op.operation.name.startswith(f"{PARENT}/operations/")
    fetched = services._transport.operations_client.get_operation(raw_op.operation.name)  # noqa: SLF001
    assert fetched.name == raw_op.operation.name
    raw_op.result(timeout=30)
    del op

    # Delete the service: gone, and listed no more.
    services.delete_service(name=created.name).result(timeout=60)
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=created.name)
    assert "life" not in [s.name.rsplit("/", 1)[1] for s in services.list_services(parent=PARENT)]


@pytest.mark.parametrize(
    "traffic,fragment",
    [
        ([("keep", 90), ("keep-b", 5)], "sum to 100"),
        ([("nope-rev", 100)], "does not exist"),
        ([("keep", 100, "x"), ("keep-b", 0, "x")], "unique"),
    ],
)
def test_invalid_traffic_is_rejected_and_changes_nothing(clients, images, traffic, fragment):
    from google.api_core import exceptions

    services, revisions = clients
    name = f"{PARENT}/services/keep"
    try:
        services.get_service(name=name)
    except exceptions.NotFound:
        svc = _service(images["v1"].ref)
        svc.template.revision = "keep-a"
        services.create_service(parent=PARENT, service=svc, service_id="keep").result(timeout=60)
        current = services.get_service(name=name)
        current.template.revision = "keep-b"
        current.template.containers[0].image = images["v2"].ref
        services.update_service(service=current).result(timeout=60)
    before = services.get_service(name=name)
    revs_before = [r.name for r in revisions.list_revisions(parent=name)]
    current = services.get_service(name=name)
    del current.traffic[:]
    current.traffic.extend([_rev_target(t[0].replace("keep", "keep-a") if t[0] == "keep" else t[0], t[1],
                                        *(t[2:] or [""])) for t in traffic])
    with pytest.raises(exceptions.BadRequest) as err:
        services.update_service(service=current)
    assert fragment in err.value.message
    after = services.get_service(name=name)
    assert after.etag == before.etag and after.traffic == before.traffic
    assert [r.name for r in revisions.list_revisions(parent=name)] == revs_before


def test_crashing_revision_fails_with_conditions_and_gets_no_traffic(clients, images):
    from google.api_core import exceptions
    from google.cloud import run_v2

    services, revisions = clients
    created = services.create_service(parent=PARENT, service=_service(images["v1"].ref),
                                      service_id="crashy").result(timeout=60)
    good = created.latest_ready_revision.rsplit("/", 1)[1]
    current = services.get_service(name=created.name)
    current.template.containers[0].image = images["crash"].ref
    current.template.revision = "crashy-bad"
    with pytest.raises(exceptions.FailedPrecondition) as err:
        services.update_service(service=current).result(timeout=60)
    assert "Revision 'crashy-bad' is not ready and cannot serve traffic" in err.value.message
    assert "exited with code 3" in err.value.message
    rev = revisions.get_revision(name=f"{created.name}/revisions/crashy-bad")
    ready = next(c for c in rev.conditions if c.type_ == "Ready")
    assert ready.state == run_v2.Condition.State.CONDITION_FAILED
    assert ready.reason == run_v2.Condition.CommonReason.REVISION_FAILED
    svc = services.get_service(name=created.name)
    assert svc.terminal_condition.state == run_v2.Condition.State.CONDITION_FAILED
    assert svc.latest_ready_revision.endswith(good)  # LATEST still resolves to the last ready one
    assert [(t.revision, t.percent) for t in svc.traffic_statuses] == [(good, 100)]
    assert _get(svc.uri)["revision"] == good
    with urllib.request.urlopen(rev.log_uri, timeout=10) as resp:  # noqa: S310
        assert "FATAL: cannot open the vector index" in resp.read().decode()
    # Traffic to a failed revision is refused up front.
    current = services.get_service(name=created.name)
    del current.traffic[:]
    current.traffic.extend([_rev_target("crashy-bad", 100)])
    with pytest.raises(exceptions.BadRequest):
        services.update_service(service=current)


def test_state_survives_a_restart(tmp_path, images):
    from cocusctl.adapters.cloudrun import CloudRun
    from cocusctl.core.cloudrun.model import RevisionSpec, TrafficEntry
    from cocusctl.core.config import RevisionSettings
    from tests.support.cloudrun import emulator_process

    home = tmp_path / "emu"
    with emulator_process(home) as info:
        api = CloudRun("persist", "local", info.endpoint)
        api.create_service("kept", RevisionSpec.of("kept-one", images["v1"].ref, RevisionSettings(startup_probe_path=None)),
                           [TrafficEntry("kept-one", 100)], timeout=60)
        api.update_service("kept", spec=RevisionSpec.of("kept-two", images["v2"].ref, RevisionSettings()),
                           traffic=[TrafficEntry("kept-one", 70), TrafficEntry("kept-two", 30, "blue")], timeout=60)
        before = api.get_service("kept")
    with emulator_process(home) as info:
        api = CloudRun("persist", "local", info.endpoint)
        after = api.get_service("kept")
        assert after.statuses == before.statuses
        assert after.uri == before.uri
        assert {r.name for r in api.list_revisions("kept")} == {"kept-one", "kept-two"}
        blue = next(s.url for s in after.statuses if s.tag == "blue")
        assert _get(blue)["revision"] == "kept-two"  # containers come back on demand


def test_validate_only_and_allow_missing(clients, images):
    from google.api_core import exceptions
    from google.cloud import run_v2

    services, _ = clients
    name = f"{PARENT}/services/maybe"
    svc = _service(images["v1"].ref)
    svc.name = name
    dry = services.update_service(request=run_v2.UpdateServiceRequest(service=svc, allow_missing=True,
                                                                      validate_only=True))
    assert dry.done()
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=name)
    created = services.update_service(request=run_v2.UpdateServiceRequest(service=svc, allow_missing=True))
    created = created.result(timeout=60)
    assert created.name == name and created.traffic_statuses[0].percent == 100
    current = services.get_service(name=name)
    current.template.containers[0].image = images["v2"].ref
    services.update_service(request=run_v2.UpdateServiceRequest(service=current, validate_only=True))
    after = services.get_service(name=name)
    assert (after.etag, after.latest_created_revision) == (created.etag, created.latest_created_revision)


def test_failing_startup_probe_fails_the_revision(clients, images):
    from google.api_core import exceptions
    from google.cloud import run_v2

    services, revisions = clients
    svc = _service(
        images["degrade"].ref,
        env=[run_v2.EnvVar(name="DEGRADE_AFTER", value="0")],  # /readyz answers 503 from the start
        startup_probe=run_v2.Probe(http_get=run_v2.HTTPGetAction(path="/readyz"), period_seconds=1,
                                   failure_threshold=2),
    )
    svc.template.revision = "probed-one"
    with pytest.raises(exceptions.FailedPrecondition) as err:
        services.create_service(parent=PARENT, service=svc, service_id="probed").result(timeout=60)
    assert "HTTP startup probe on path /readyz failed" in err.value.message
    rev = revisions.get_revision(name=f"{PARENT}/services/probed/revisions/probed-one")
    ready = next(c for c in rev.conditions if c.type_ == "Ready")
    assert ready.state == run_v2.Condition.State.CONDITION_FAILED
    assert ready.reason == run_v2.Condition.CommonReason.PROGRESS_DEADLINE_EXCEEDED
    assert not services.get_service(name=f"{PARENT}/services/probed").traffic_statuses


def test_secret_references_resolve_from_the_local_secret_store(clients, images, emulator, secrets_file):
    """As Cloud Run reads Secret Manager: the pinned version's value in the container, a missing one fails."""
    from google.api_core import exceptions
    from google.cloud import run_v2

    from cocusctl.core.local_secrets import LocalSecretStore

    store = LocalSecretStore(Path(secrets_file))
    store.add_version("emu-test", "greeting", b"first value")
    store.add_version("emu-test", "greeting", b"second value")
    assert emulator.secrets_file == secrets_file

    def secret_env(version: str):  # noqa: ANN202
        return run_v2.EnvVar(name="GREETING_SECRET", value_source=run_v2.EnvVarSource(
            secret_key_ref=run_v2.SecretKeySelector(secret="greeting", version=version)))

    services, _ = clients
    created = services.create_service(parent=PARENT, service=_service(images["v1"].ref, env=[secret_env("1")]),
                                      service_id="secretive").result(timeout=60)
    assert _get(created.uri)["env"]["GREETING_SECRET"] == "first value"
    served = created.latest_ready_revision

    template = services.get_service(name=created.name)
    template.template = run_v2.RevisionTemplate(containers=[run_v2.Container(image=images["v1"].ref,
                                                                             env=[secret_env("3")])])
    with pytest.raises(exceptions.FailedPrecondition, match="Secret projects/emu-test/secrets/greeting/versions/3 "
                                                            "was not found"):
        services.update_service(service=template).result(timeout=60)
    after = services.get_service(name=created.name)
    assert after.latest_ready_revision == served and _get(after.uri)["env"]["GREETING_SECRET"] == "first value"
    services.delete_service(name=created.name).result(timeout=60)

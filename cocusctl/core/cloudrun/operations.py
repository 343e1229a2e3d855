"""`split-traffic`, `rollback`, `status` and `promote` for the Cloud Run target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from cocusctl.core.cloudrun import traffic as tr
from cocusctl.core.cloudrun.api import CloudRunApi, RevisionNotReady
from cocusctl.core.cloudrun.deploy import Deployer, DeployPlan, no_interrupts
from cocusctl.core.cloudrun.images import parse_image_ref
from cocusctl.core.cloudrun.model import (
    ConditionRow,
    PromoteResult,
    RevisionInfo,
    RevisionRow,
    ServiceState,
    StatusResult,
    TrafficEntry,
    TrafficResult,
)
from cocusctl.core.errors import CocusError, DeployError, Interrupted, UsageError
from cocusctl.core.reporting import Reporter


def _service_or_fail(api: CloudRunApi, service: str, environment: str) -> ServiceState:
    state = api.get_service(service)
    if state is None:
        raise UsageError(f"service {service!r} does not exist in environment {environment!r}",
                         hint=f"deploy it first: cocusctl deploy --env {environment}")
    return state


def _fmt(entries: list[TrafficEntry]) -> str:
    return ", ".join(f"{e.label()}={e.percent}%" + (f" (tag {e.tag})" if e.tag else "") for e in entries)


def apply_traffic(
    api: CloudRunApi, reporter: Reporter, environment: str, service: str, state: ServiceState,
    target: list[TrafficEntry], *, action: str, timeout: float = 300.0,
) -> TrafficResult:
    """Validate (locally and with the API's validate_only), apply, verify; restore on failure or Ctrl-C."""
    revisions = {r.name: r for r in api.list_revisions(service)}
    tr.validate(target, revisions)
    before = state.pinned_traffic()
    reporter.info(f"before: {_fmt(before)}")
    reporter.info(f"after:  {_fmt(target)}")
    expected = {e.revision: 0 for e in target if e.percent}
    for e in target:
        if e.percent:
            expected[e.revision] = expected.get(e.revision, 0) + e.percent
    if state.serving() == expected and sorted((e.revision, e.tag) for e in before if e.tag) == sorted(
        (e.revision, e.tag) for e in target if e.tag
    ):
        reporter.success("traffic already matches; nothing to do")
        return TrafficResult(environment=environment, service=service, changed=False, action=action,
                             traffic_before=tr.rows(before, state), traffic_after=tr.status_rows(state))
    api.update_service(service, spec=None, traffic=target, timeout=timeout, validate_only=True)
    reporter.step(f"Applying traffic to {service}")
    try:
        try:
            after = api.update_service(service, spec=None, traffic=target, timeout=timeout)
        except RevisionNotReady as exc:
            raise DeployError(f"traffic change failed: {exc}") from None
        if after.serving() != expected:
            raise DeployError(f"traffic did not take effect: serving {after.serving()} instead of {expected}")
    except KeyboardInterrupt:
        _restore(api, reporter, service, before, timeout)
        raise Interrupted("interrupted; previous traffic restored") from None
    except CocusError:
        _restore(api, reporter, service, before, timeout)
        raise
    reporter.success(f"traffic verified: {_fmt(after.pinned_traffic())}")
    return TrafficResult(environment=environment, service=service, changed=True, action=action,
                         traffic_before=tr.rows(before, state), traffic_after=tr.status_rows(after))


def _restore(api: CloudRunApi, reporter: Reporter, service: str, before: list[TrafficEntry], timeout: float) -> None:
    reporter.warn(f"restoring the previous traffic: {_fmt(before)}")
    with no_interrupts():
        try:
            api.update_service(service, spec=None, traffic=before, timeout=timeout)
        except (CocusError, RevisionNotReady) as exc:
            raise DeployError(f"RESTORING TRAFFIC FAILED: {exc}") from None


def split_traffic(
    api: CloudRunApi, reporter: Reporter, environment: str, service: str, assignments: list[str],
    *, to_latest: bool = False,
) -> TrafficResult:
    if to_latest and assignments:
        raise UsageError("give either REVISION=PERCENT pairs or --to-latest, not both")
    parsed = [] if to_latest else tr.parse_assignments(assignments)  # bad input fails before any API call
    state = _service_or_fail(api, service, environment)
    revisions = {r.name: r for r in api.list_revisions(service)}
    if to_latest:
        if not state.latest_ready:
            raise UsageError(f"service {service!r} has no ready revision")
        target = tr.with_tags({state.latest_ready: 100}, state)
    else:
        target = tr.resolve_assignments(parsed, state, revisions)
    return apply_traffic(api, reporter, environment, service, state, target, action="split-traffic")


def rollback(
    api: CloudRunApi, reporter: Reporter, environment: str, service: str, to: str | None = None
) -> TrafficResult:
    state = _service_or_fail(api, service, environment)
    revisions = api.list_revisions(service)
    by_name = {r.name: r for r in revisions}
    serving = state.serving()
    if to is None:
        primary = max(serving.items(), key=lambda kv: kv[1])[0] if serving else state.latest_ready
        created = by_name[primary].created if primary in by_name else ""
        older = sorted((r for r in revisions if r.ready and r.name != primary and r.created < created),
                       key=lambda r: r.created, reverse=True)
        if not older:
            raise UsageError(f"no earlier ready revision than {primary} to roll back to")
        to = older[0].name
    elif to not in by_name:
        raise UsageError(f"unknown revision {to!r} (revisions: {', '.join(sorted(by_name))})")
    if by_name[to].ready is not True:
        raise UsageError(f"revision {to!r} is not ready and cannot receive traffic")
    reporter.step(f"Rolling {service} back to {to}")
    target = tr.with_tags({to: 100}, state)
    return apply_traffic(api, reporter, environment, service, state, target, action="rollback")


def _revision_url(state: ServiceState, revision: str) -> str:
    """A URL that reaches exactly this revision: one of its tags, or the service URL when it serves 100 %."""
    tagged = next((s.url for s in state.statuses if s.revision == revision and s.tag and s.url), "")
    return tagged or (state.uri if state.serving() == {revision: 100} else "")


def _index_of(api: CloudRunApi, url: str) -> dict[str, str | None]:
    """Index version and model id from the revision's /version (the RAG service's), when it can be asked."""
    if not url:
        return {}
    status, body = api.http_json("GET", url.rstrip("/") + "/version", timeout=5.0)
    if status != 200 or not isinstance(body, dict):
        return {}
    return {"index_version": body.get("index_version"), "embedding_model": body.get("embedding_model")}


def status(api: CloudRunApi, environment: str, service: str) -> StatusResult:
    state = api.get_service(service)
    if state is None:
        return StatusResult(environment=environment, target="cloudrun", service=service, exists=False)
    counts = api.request_counts(service) or {}
    percents = state.serving()
    tags: dict[str, list[str]] = {}
    for s in state.statuses:
        if s.tag:
            tags.setdefault(s.revision, []).append(s.tag)
    rows = [
        RevisionRow(
            name=r.name, image=r.image, digest=r.digest or None, created=r.created or None, ready=r.ready,
            percent=percents.get(r.name, 0), tags=tags.get(r.name, []),
            conditions=[ConditionRow(type=c.type, state=c.state, message=c.message) for c in r.conditions],
            requests=counts.get(r.name, 0) if api.is_emulator else None,
            **_index_of(api, _revision_url(state, r.name) if r.ready else ""),
        )
        for r in api.list_revisions(service)
    ]
    return StatusResult(
        environment=environment, target="cloudrun", service=service, exists=True, url=state.uri,
        ready=state.ready,
        conditions=[ConditionRow(type=c.type, state=c.state, message=c.message) for c in state.conditions],
        revisions=rows, traffic=tr.status_rows(state),
    )


class ImageCopier(Protocol):
    def copy_by_digest(self, src_ref: str, dst_registry: Any, image: str | None = None, *,
                       mount: bool = True) -> str: ...


def describe_differences(a: RevisionInfo, plan: DeployPlan) -> list[str]:
    """What differs between the revision serving in A and what B will run (config, env, secrets, scaling)."""
    spec = plan.spec
    diffs: list[str] = []
    keys = sorted(set(a.env) | set(spec.env))
    for k in keys:
        if a.env.get(k) != spec.env.get(k):
            diffs.append(f"env {k}: {a.env.get(k, '<unset>')!r} -> {spec.env.get(k, '<unset>')!r}")
    for k in sorted(set(a.secrets) | set(spec.secrets)):
        if a.secrets.get(k) != spec.secrets.get(k):
            diffs.append(f"secret {k}: {a.secrets.get(k, '<unset>')} -> {spec.secrets.get(k, '<unset>')}")
    pairs = [("memory", a.memory, spec.memory), ("cpu", a.cpu, spec.cpu),
             ("min_instances", a.min_instances, spec.min_instances),
             ("max_instances", a.max_instances, spec.max_instances),
             ("concurrency", a.concurrency, spec.concurrency)]
    for name, old, new in pairs:
        if str(old) != str(new):
            diffs.append(f"{name}: {old} -> {new}")
    return diffs


def promote(
    *,
    api_a: CloudRunApi,
    api_b: CloudRunApi,
    reporter: Reporter,
    env_a: str,
    env_b: str,
    service_a: str,
    copier: ImageCopier,
    registry_b: Any,
    make_plan: Callable[[str], DeployPlan],
    revision: str | None = None,
    sleep: Callable[[float], None] | None = None,
) -> PromoteResult:
    """Copy the digest serving 100 % in A into B's registry (by digest), then deploy it to B."""
    state = _service_or_fail(api_a, service_a, env_a)
    if revision is None:
        serving = state.serving()
        full = [rev for rev, p in serving.items() if p == 100]
        if not full:
            raise UsageError(f"no single revision serves 100 % in {env_a} ({serving}); pass --revision")
        revision = full[0]
    info = api_a.get_revision(service_a, revision)
    if info is None:
        raise UsageError(f"revision {revision!r} does not exist in {env_a}")
    routes_ok = all(c.state != "FAILED" for c in state.conditions if c.type == "RoutesReady")
    if info.ready is not True or not routes_ok:
        raise UsageError(f"{env_a} is not healthy (revision {revision} ready={info.ready}, routes "
                         f"{'ready' if routes_ok else 'failed'}); refusing to promote")
    if not info.digest:
        raise UsageError(f"revision {revision} in {env_a} runs {info.image!r}, which is not pinned by digest")
    source = parse_image_ref(info.image)
    reporter.step(f"Promoting {source.digest} from {env_a} ({revision}) to {env_b}")
    reporter.step(f"Copying the image by digest to {registry_b.url}")
    target_ref = copier.copy_by_digest(source.ref, registry_b)
    target = parse_image_ref(target_ref)
    if target.digest != source.digest:
        raise DeployError(f"the copy has digest {target.digest}, expected {source.digest}")
    reporter.success(f"copied: {target_ref}")
    plan = make_plan(target_ref)
    diffs = describe_differences(info, plan)
    for d in diffs:
        reporter.info(f"differs in {env_b}: {d}")
    if not diffs:
        reporter.info(f"no configuration differences between {env_a} and {env_b}")
    deployer = Deployer(api_b, reporter) if sleep is None else Deployer(api_b, reporter, sleep=sleep)
    result = deployer.deploy(plan)
    return PromoteResult(
        source_environment=env_a, target_environment=env_b, source_revision=revision, digest=source.digest,
        source_image=source.ref, target_image=target_ref, differences=diffs, deploy=result,
    )

"""`split-traffic`, `rollback` and `status` for the Cloud Run target (promote is target-neutral: core.release)."""

from __future__ import annotations

from cocusctl.core.cloudrun import traffic as tr
from cocusctl.core.cloudrun.api import CloudRunApi, RevisionNotReady
from cocusctl.core.cloudrun.deploy import no_interrupts
from cocusctl.core.cloudrun.model import ServiceState, TrafficEntry
from cocusctl.core.errors import CocusError, DeployError, Interrupted, UsageError
from cocusctl.core.release.results import ConditionRow, RevisionRow, StatusResult, TrafficResult
from cocusctl.core.reporting import Reporter


def service_or_fail(api: CloudRunApi, service: str, environment: str) -> ServiceState:
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
    state = service_or_fail(api, service, environment)
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
    state = service_or_fail(api, service, environment)
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

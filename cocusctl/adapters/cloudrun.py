"""Cloud Run adapter over the official `google-cloud-run` client (Admin API v2, REST transport).

The same code talks to real Cloud Run (Application Default Credentials, default endpoint) and to the local
emulator (`api_endpoint: http://127.0.0.1:N`, anonymous credentials). Only emulator extras — request
counters and container logs — are read from the emulator's `/emulator/v1/` endpoints.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from cocusctl.core.cloudrun.api import RevisionNotReady
from cocusctl.core.cloudrun.model import (
    Condition,
    RevisionInfo,
    RevisionSpec,
    ServiceState,
    TrafficEntry,
    TrafficStatus,
)
from cocusctl.core.errors import CloudApiError, NotAvailableError, OperationTimeout, UsageError
from cocusctl.core.net import is_loopback

if TYPE_CHECKING:
    from cocusctl.core.cloudrun.canary import RouterCounters
    from cocusctl.core.config import Environment

def resolve_endpoint(configured: str | None) -> str | None:
    """`emulator` means the emulator started by `cocusctl emulator start`; None means real Cloud Run."""
    if configured != "emulator":
        return configured
    from cocusctl.emulator import process

    info = process.status()
    if info is None:
        raise NotAvailableError(
            "the environment uses the local Cloud Run emulator, but it is not running",
            hint="start it with `cocusctl emulator start`",
        )
    return info.endpoint


class CloudRun:
    """Implements `cocusctl.core.cloudrun.api.CloudRunApi`."""

    def __init__(
        self,
        project: str,
        region: str,
        endpoint: str | None = None,
        poll_interval: float = 0.2,
        *,
        release_fields_only: bool = False,
    ) -> None:
        try:
            from google.api_core.client_options import ClientOptions
            from google.cloud import run_v2
        except ImportError:
            raise NotAvailableError(
                "the Cloud Run client is not installed", hint="pip install 'cocusctl[cloudrun]'"
            ) from None
        self._run = run_v2
        self.project = project
        self.region = region
        self.parent = f"projects/{project}/locations/{region}"
        # With Terraform owning the service (environment `infrastructure: true`), an update changes only the
        # release-owned fields (image, revision name, labels, annotations, traffic); see terraform/README.md.
        self.release_fields_only = release_fields_only
        self.is_emulator = is_loopback(endpoint)
        self.endpoint = endpoint or "https://run.googleapis.com"
        self.poll_interval = poll_interval
        kwargs: dict[str, Any] = {"transport": "rest"}
        if endpoint:
            kwargs["client_options"] = ClientOptions(api_endpoint=endpoint)
        if self.is_emulator:
            from google.auth.credentials import AnonymousCredentials

            kwargs["credentials"] = AnonymousCredentials()
        self.services = run_v2.ServicesClient(**kwargs)
        self.revisions = run_v2.RevisionsClient(**kwargs)
        self._http_client: Any = None

    @classmethod
    def for_environment(cls, environment: Environment) -> CloudRun:
        settings = environment.settings
        return cls(settings.project, settings.region, resolve_endpoint(settings.cloudrun.api_endpoint),
                   release_fields_only=settings.infrastructure)

    # ------------------------------------------------------------------ helpers
    def _svc_name(self, service: str) -> str:
        return f"{self.parent}/services/{service}"

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from google.api_core import exceptions as gexc

        try:
            return fn(*args, **kwargs)
        except gexc.NotFound:
            raise
        except (gexc.BadRequest, gexc.InvalidArgument) as exc:
            raise UsageError(f"Cloud Run rejected the request: {exc.message}") from exc
        except gexc.GoogleAPICallError as exc:
            raise CloudApiError(f"{what} failed (HTTP {exc.code}): {exc.message}") from exc
        except gexc.GoogleAPIError as exc:
            raise CloudApiError(f"{what} failed: {exc}") from exc
        except OSError as exc:
            raise CloudApiError(f"{what} failed: cannot reach {self.endpoint}: {exc}") from exc

    def _wait(self, op: Any, timeout: float, what: str) -> Any:
        from google.api_core import exceptions as gexc

        deadline = time.monotonic() + timeout
        while not self._call(what, op.done):
            if time.monotonic() > deadline:
                raise OperationTimeout(f"{what} did not finish within {timeout:.0f}s")
            time.sleep(self.poll_interval)
        try:
            return op.result(timeout=5)
        except (gexc.FailedPrecondition, gexc.Aborted) as exc:
            raise RevisionNotReady(exc.message) from exc
        except gexc.GoogleAPICallError as exc:
            raise CloudApiError(f"{what} failed: {exc.message}") from exc

    # ------------------------------------------------------------------ conversions
    @staticmethod
    def _conditions(conds: Any) -> tuple[Condition, ...]:
        out = []
        for c in conds:
            state = c.state.name.removeprefix("CONDITION_") if c.state else "UNKNOWN"
            reason = ""
            for attr in ("reason", "revision_reason", "execution_reason"):
                value = getattr(c, attr, None)
                if value:
                    reason = value.name
                    break
            out.append(Condition(type=c.type_, state=state, message=c.message, reason=reason))
        return tuple(out)

    @staticmethod
    def _ready(conds: tuple[Condition, ...]) -> bool | None:
        for c in conds:
            if c.type == "Ready":
                return {"SUCCEEDED": True, "FAILED": False}.get(c.state)
        return None

    def _service_state(self, svc: Any) -> ServiceState:
        latest = self._run.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
        traffic = tuple(
            TrafficEntry(None if t.type_ == latest else t.revision, t.percent, t.tag) for t in svc.traffic
        )
        statuses = tuple(TrafficStatus(t.revision, t.percent, t.tag, t.uri) for t in svc.traffic_statuses)
        conds = self._conditions([svc.terminal_condition]) if svc.terminal_condition.type_ else ()
        return ServiceState(
            name=svc.name.rsplit("/", 1)[-1],
            uri=svc.uri,
            traffic=traffic,
            statuses=statuses,
            latest_ready=svc.latest_ready_revision.rsplit("/", 1)[-1],
            latest_created=svc.latest_created_revision.rsplit("/", 1)[-1],
            ready=self._ready(conds),
            conditions=conds + self._conditions(svc.conditions),
        )

    def _revision_info(self, rev: Any) -> RevisionInfo:
        conds = self._conditions(rev.conditions)
        c = rev.containers[0] if rev.containers else None
        env = {e.name: e.value for e in (c.env if c else []) if not e.value_source.secret_key_ref.secret}
        secrets = {
            e.name: f"{e.value_source.secret_key_ref.secret}:{e.value_source.secret_key_ref.version or 'latest'}"
            for e in (c.env if c else []) if e.value_source.secret_key_ref.secret
        }
        limits = dict(c.resources.limits) if c else {}
        created = rev.create_time.isoformat() if rev.create_time else ""
        return RevisionInfo(
            name=rev.name.rsplit("/", 1)[-1],
            image=c.image if c else "",
            created=created,
            ready=self._ready(conds),
            conditions=conds,
            log_uri=rev.log_uri,
            env=env,
            secrets=secrets,
            memory=limits.get("memory", ""),
            cpu=limits.get("cpu", ""),
            min_instances=rev.scaling.min_instance_count,
            max_instances=rev.scaling.max_instance_count,
            concurrency=rev.max_instance_request_concurrency,
        )

    @staticmethod
    def _set_release_fields(template: Any, spec: RevisionSpec) -> None:
        """Change what `cocusctl deploy` owns; leave scaling, resources, env, secrets, SA, VPC to Terraform."""
        template.revision = spec.revision
        template.containers[0].image = spec.image
        template.labels.update(spec.labels)
        template.annotations.update(spec.annotations)

    def _template(self, spec: RevisionSpec) -> Any:
        run = self._run
        env = [run.EnvVar(name=k, value=v) for k, v in sorted(spec.env.items())]
        for name, ref in sorted(spec.secrets.items()):
            secret, _, version = ref.partition(":")
            env.append(run.EnvVar(name=name, value_source=run.EnvVarSource(
                secret_key_ref=run.SecretKeySelector(secret=secret, version=version or "latest"))))
        container = run.Container(
            image=spec.image,
            env=env,
            resources=run.ResourceRequirements(limits={"memory": spec.memory, "cpu": spec.cpu}),
            ports=[run.ContainerPort(container_port=spec.container_port)],
        )
        if spec.startup_probe_path:
            container.startup_probe = run.Probe(
                http_get=run.HTTPGetAction(path=spec.startup_probe_path),
                period_seconds=2, failure_threshold=30, timeout_seconds=1,
            )
        from google.protobuf import duration_pb2

        return run.RevisionTemplate(
            revision=spec.revision,
            labels=spec.labels,
            annotations=spec.annotations,
            containers=[container],
            scaling=run.RevisionScaling(min_instance_count=spec.min_instances,
                                        max_instance_count=spec.max_instances),
            max_instance_request_concurrency=spec.concurrency,
            timeout=duration_pb2.Duration(seconds=spec.timeout_s),
        )

    def _traffic(self, traffic: list[TrafficEntry]) -> list[Any]:
        run = self._run
        types = run.TrafficTargetAllocationType
        out = []
        for t in traffic:
            if t.revision is None:
                out.append(run.TrafficTarget(type_=types.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, percent=t.percent,
                                             tag=t.tag))
            else:
                out.append(run.TrafficTarget(type_=types.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION,
                                             revision=t.revision, percent=t.percent, tag=t.tag))
        return out

    # ------------------------------------------------------------------ the protocol
    def get_service(self, service: str) -> ServiceState | None:
        raw = self._get_raw(service)
        return self._service_state(raw) if raw is not None else None

    def _get_raw(self, service: str) -> Any:
        from google.api_core import exceptions as gexc

        try:
            return self._call("get service", self.services.get_service, name=self._svc_name(service))
        except gexc.NotFound:
            return None

    def create_service(
        self, service: str, spec: RevisionSpec, traffic: list[TrafficEntry], timeout: float
    ) -> ServiceState:
        body = self._run.Service(template=self._template(spec), traffic=self._traffic(traffic))
        op = self._call("create service", self.services.create_service, parent=self.parent, service=body,
                        service_id=service)
        return self._service_state(self._wait(op, timeout, f"creating service {service}"))

    def update_service(
        self,
        service: str,
        *,
        spec: RevisionSpec | None,
        traffic: list[TrafficEntry],
        timeout: float,
        validate_only: bool = False,
    ) -> ServiceState:
        from google.api_core import exceptions as gexc

        raw = self._get_raw(service)
        if raw is None:
            raise CloudApiError(f"service {service} does not exist in {self.parent}")
        if spec is not None:
            if self.release_fields_only and raw.template.containers:
                self._set_release_fields(raw.template, spec)
            else:
                raw.template = self._template(spec)
        del raw.traffic[:]
        raw.traffic.extend(self._traffic(traffic))
        request = self._run.UpdateServiceRequest(service=raw, validate_only=validate_only)
        try:
            op = self._call("update service", self.services.update_service, request=request)
        except gexc.NotFound:
            raise CloudApiError(f"service {service} does not exist in {self.parent}") from None
        result = self._wait(op, timeout, f"updating service {service}")
        return self._service_state(result)

    def delete_service(self, service: str, timeout: float) -> None:
        from google.api_core import exceptions as gexc

        try:
            op = self._call("delete service", self.services.delete_service, name=self._svc_name(service))
        except gexc.NotFound:
            return
        self._wait(op, timeout, f"deleting service {service}")

    def list_revisions(self, service: str) -> list[RevisionInfo]:
        from google.api_core import exceptions as gexc

        try:
            pages = self._call("list revisions", self.revisions.list_revisions, parent=self._svc_name(service))
            return [self._revision_info(r) for r in pages]
        except gexc.NotFound:
            return []

    def get_revision(self, service: str, revision: str) -> RevisionInfo | None:
        from google.api_core import exceptions as gexc

        try:
            rev = self._call("get revision", self.revisions.get_revision,
                             name=f"{self._svc_name(service)}/revisions/{revision}")
        except gexc.NotFound:
            return None
        return self._revision_info(rev)

    # ------------------------------------------------------------------ HTTP (smoke tests, emulator extras)
    def _client(self) -> Any:
        if self._http_client is None:
            import httpx

            self._http_client = httpx.Client(timeout=10.0, follow_redirects=False)
        return self._http_client

    def _auth_headers(self, url: str) -> dict[str, str]:
        if self.is_emulator or is_loopback(url):
            return {}
        from cocusctl.adapters.google_auth import id_token
        from cocusctl.core.errors import CocusError

        parts = urlparse(url)
        try:
            return {"Authorization": f"Bearer {id_token(f'{parts.scheme}://{parts.netloc}')}"}
        except CocusError:  # no credentials that mint ID tokens: a public service needs none
            return {}

    def http(self, method: str, url: str, *, json_body: object | None = None, timeout: float = 10.0,
             headers: dict[str, str] | None = None) -> int:
        return self.http_json(method, url, json_body=json_body, timeout=timeout, headers=headers)[0]

    def http_json(self, method: str, url: str, *, json_body: object | None = None, timeout: float = 10.0,
                  headers: dict[str, str] | None = None) -> tuple[int, object | None]:
        import httpx

        try:
            resp = self._client().request(method, url, json=json_body, timeout=timeout,
                                          headers={**self._auth_headers(url), **(headers or {})})
        except httpx.HTTPError:
            return 0, None
        try:
            body = resp.json()
        except ValueError:
            body = None
        return int(resp.status_code), body

    def revision_logs(self, revision: RevisionInfo, tail: int = 20) -> str:
        if not (self.is_emulator and revision.log_uri.startswith(self.endpoint)):
            return ""
        import httpx

        try:
            sep = "&" if "?" in revision.log_uri else "?"
            resp = self._client().get(f"{revision.log_uri}{sep}tail={tail}")
        except httpx.HTTPError:
            return ""
        return resp.text if resp.status_code == 200 else ""

    def request_counts(self, service: str) -> dict[str, int] | None:
        stats = self.revision_stats(service)
        return None if stats is None else {rev: c.requests for rev, c in stats.items()}

    def revision_stats(self, service: str) -> dict[str, RouterCounters] | None:
        if not self.is_emulator:
            return None
        import httpx

        from cocusctl.core.cloudrun.canary import RouterCounters

        try:
            resp = self._client().get(f"{self.endpoint}/emulator/v1/stats",
                                      params={"service": self._svc_name(service)})
        except httpx.HTTPError:
            return None
        if resp.status_code != 200:
            return None
        return {rev: RouterCounters(int(v["requests"]), int(v["errors"]), tuple(v["latency"]["bounds"]),
                                    tuple(v["latency"]["counts"]))
                for rev, v in resp.json().get("revisions", {}).items()}

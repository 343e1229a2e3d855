"""The emulator's control plane: services, revisions and operations, reconciled onto Docker and the router.

Mutations are validated and recorded synchronously (so a bad request changes nothing); the long-running
part — starting the new revision's container, probing it, moving traffic — runs in a reconcile task that
completes the request's Operation, exactly as the real API's long-running operations do.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from google.cloud import run_v2

from cocusctl.core.net import free_port

from . import monitoring
from . import resources as R
from .resources import ApiError, Json
from .router import RevisionStats, Router, RouteTable
from .runtime import ContainerStartError, DockerRuntime
from .store import Store

log = logging.getLogger("cocusctl.emulator")

IDLE_GRACE_SECONDS = 15.0
DEFAULT_STARTUP_SECONDS = 240.0


class RevisionFailed(Exception):
    def __init__(self, message: str, *, reason: int, revision_reason: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.revision_reason = revision_reason


@dataclass
class RevisionRuntime:
    container_id: str | None = None
    port: int | None = None
    healthy: bool = False
    boot: asyncio.Task[int] | None = None
    last_logs: str = ""


@dataclass
class Controller:
    store: Store
    runtime: DockerRuntime
    api_base: str = ""
    runtimes: dict[str, RevisionRuntime] = field(default_factory=dict)  # revision full name -> runtime
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    router: Router = field(init=False)

    def __post_init__(self) -> None:
        self.router = Router(self._resolve_backend, self._backend_dead)
        self._probe_session: aiohttp.ClientSession | None = None

    @property
    def state(self):  # noqa: ANN201 - the store's State
        return self.store.state

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.router.start()
        self._probe_session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        await asyncio.to_thread(self.runtime.remove_all)
        self.store.load()
        for name, svc in list(self.state.services.items()):
            await self._restore_service(name, svc)
        self.store.save()
        self._publish_targets()

    def _publish_targets(self) -> None:
        """Tell a local Prometheus (file-based discovery) which revisions serve where."""
        monitoring.publish_targets(self.runtime.instance_id, self.api_base, self.runtimes)

    def metrics(self) -> str:
        return monitoring.exposition(self.state.revisions, self.runtimes)

    async def close(self) -> None:
        monitoring.withdraw_targets(self.runtime.instance_id)
        for t in list(self._tasks):
            t.cancel()
        await self.router.close()
        if self._probe_session:
            await self._probe_session.close()
        await asyncio.to_thread(self.runtime.remove_all)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restore_service(self, name: str, svc: Json) -> None:
        port = await self.router.listen(self.state.ports.get(name, 0), name, None)
        self.state.ports[name] = port
        svc["uri"] = f"http://127.0.0.1:{port}"
        svc["urls"] = [svc["uri"]]
        await self._sync_tag_ports(name, svc)
        for entry in svc.get("trafficStatuses", []):
            if entry.get("tag"):
                entry["uri"] = f"http://127.0.0.1:{self.state.ports[name + '#' + entry['tag']]}"
        self._publish_routes(name, svc)
        pending = [op for op in self.state.operations.values()
                   if not op.get("done") and op.get("metadata", {}).get("name") == name]
        for op in pending:
            generation = int(op.get("_generation", svc.get("generation", 1)))
            self._spawn(self._reconcile(name, op["name"], generation))

    # ------------------------------------------------------------------ names
    @staticmethod
    def _svc_name(project: str, location: str, service_id: str) -> str:
        return f"projects/{project}/locations/{location}/services/{service_id}"

    def _get_service(self, name: str) -> Json:
        svc = self.state.services.get(name)
        if svc is None:
            raise ApiError(404, f"Resource '{name.rsplit('/', 1)[1]}' of kind 'SERVICE' in region "
                           f"'{name.split('/')[3]}' in project '{name.split('/')[1]}' does not exist.")
        return svc

    def _revisions_of(self, service_name: str) -> dict[str, Json]:
        prefix = service_name + "/revisions/"
        return {k[len(prefix):]: v for k, v in self.state.revisions.items() if k.startswith(prefix)}

    # ------------------------------------------------------------------ operations
    def _new_operation(self, project: str, location: str, metadata_cls: Any, resource: Json, generation: int,
                       *, done: bool = False) -> Json:
        name = f"projects/{project}/locations/{location}/operations/{uuid.uuid4()}"
        op: Json = {"name": name, "metadata": R.any_of(metadata_cls, self._public(resource)), "done": done,
                    "_generation": generation}
        if done:
            op["response"] = R.any_of(metadata_cls, self._public(resource))
        self.state.operations[name] = op
        return op

    @staticmethod
    def _public(resource: Json) -> Json:
        return {k: v for k, v in resource.items() if not k.startswith("_")}

    def get_operation(self, name: str) -> Json:
        op = self.state.operations.get(name)
        if op is None:
            raise ApiError(404, f"Operation '{name}' not found.")
        return self._public(op)

    def list_operations(self, parent: str) -> list[Json]:
        return [self._public(op) for n, op in self.state.operations.items() if n.startswith(parent + "/")]

    def delete_operation(self, name: str) -> None:
        if self.state.operations.pop(name, None) is None:
            raise ApiError(404, f"Operation '{name}' not found.")
        self.store.save()

    async def wait_operation(self, name: str, timeout: float) -> Json:
        deadline = time.monotonic() + min(max(timeout, 0.0), 600.0)
        while True:
            op = self.get_operation(name)
            if op.get("done") or time.monotonic() >= deadline:
                return op
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------------ services
    def list_services(self, parent: str) -> list[Json]:
        R.parse_parent(parent)
        return [self._public(s) for n, s in sorted(self.state.services.items()) if n.startswith(parent + "/")]

    def get_service(self, name: str) -> Json:
        return self._public(self._get_service(name))

    async def create_service(self, parent: str, service_id: str, body: Json, validate_only: bool) -> Json:
        project, location = R.parse_parent(parent)
        if not service_id:
            raise ApiError(400, "service_id is required.")
        if not R.SERVICE_ID_RE.match(service_id):
            raise ApiError(400, f"service_id '{service_id}' is invalid: lowercase letters, digits and '-', "
                           "starting with a letter, at most 49 characters.")
        spec = R.normalise_service(body)
        async with self._lock:
            name = self._svc_name(project, location, service_id)
            if name in self.state.services:
                raise ApiError(409, f"Resource '{service_id}' already exists.")
            spec["name"] = name
            if not spec.get("traffic"):
                spec["traffic"] = [{"type": R.TRAFFIC_LATEST, "percent": 100}]
            new_rev = self._plan_revision(name, service_id, spec, current=None, generation=1)
            assert new_rev is not None  # a new service always gets its first revision
            R.validate_traffic(spec["traffic"], known_revisions={}, new_revision=new_rev,
                               latest_revision=new_rev)
            now = R.now_rfc3339()
            svc = {
                **spec,
                "uid": str(uuid.uuid4()),
                "generation": "1",
                "createTime": now,
                "updateTime": now,
                "creator": "emulator@cocusctl.local",
                "lastModifier": "emulator@cocusctl.local",
                "latestCreatedRevision": f"{name}/revisions/{new_rev}",
                "reconciling": True,
                "terminalCondition": R.condition("Ready", R.STATE_RECONCILING),
                "conditions": [R.condition("ConfigurationsReady", R.STATE_RECONCILING),
                               R.condition("RoutesReady", R.STATE_RECONCILING)],
                "etag": f'"{uuid.uuid4().hex}"',
            }
            if validate_only:
                return self._validate_only_op(project, location, svc)
            port = await self.router.listen(0, name, None)
            self.state.ports[name] = port
            svc["uri"] = f"http://127.0.0.1:{port}"
            svc["urls"] = [svc["uri"]]
            self.state.services[name] = svc
            self._record_revision(name, service_id, new_rev, svc, generation=1)
            op = self._new_operation(project, location, run_v2.Service, svc, 1)
            self.store.save()
        self._spawn(self._reconcile(name, op["name"], 1))
        return self._public(op)

    def _validate_only_op(self, project: str, location: str, svc: Json) -> Json:
        op = {"name": f"projects/{project}/locations/{location}/operations/{uuid.uuid4()}",
              "metadata": R.any_of(run_v2.Service, self._public(svc)), "done": True,
              "response": R.any_of(run_v2.Service, self._public(svc))}
        return op

    def _plan_revision(self, name: str, service_id: str, spec: Json, current: Json | None,
                       generation: int) -> str | None:
        """The id of the revision this request creates, or None when the template did not change."""
        template = spec.get("template") or {}
        containers = template.get("containers") or []
        if not containers or not containers[0].get("image"):
            raise ApiError(400, "spec.template.containers[0].image: an image is required.")
        if current is not None and R.canonical_template(template) == R.canonical_template(
            current.get("template") or {}
        ):
            return None
        rev = template.get("revision", "")
        if rev:
            if not rev.startswith(service_id + "-") or not R.REVISION_ID_RE.match(rev):
                raise ApiError(400, f"spec.template.revision: '{rev}' must start with '{service_id}-' and "
                               "contain only lowercase letters, digits and '-' (at most 63 characters).")
            if f"{name}/revisions/{rev}" in self.state.revisions:
                raise ApiError(409, f"Revision named '{rev}' with different configuration already exists.")
            return rev
        return R.revision_id_for(service_id, generation)

    def _record_revision(self, name: str, service_id: str, rev: str, svc: Json, generation: int) -> None:
        template = copy.deepcopy(svc.get("template") or {})
        full = f"{name}/revisions/{rev}"
        now = R.now_rfc3339()
        raw = {
            "name": full,
            "uid": str(uuid.uuid4()),
            "generation": "1",
            "labels": template.get("labels", {}),
            "annotations": template.get("annotations", {}),
            "createTime": now,
            "updateTime": now,
            "launchStage": svc.get("launchStage", 0),
            "service": name,
            "scaling": template.get("scaling", {}),
            "timeout": template.get("timeout", "300s"),
            "serviceAccount": template.get("serviceAccount", ""),
            "containers": template.get("containers", []),
            "volumes": template.get("volumes", []),
            "maxInstanceRequestConcurrency": template.get("maxInstanceRequestConcurrency", 80),
            "executionEnvironment": template.get("executionEnvironment", 0),
            "reconciling": True,
            "conditions": [R.condition("Ready", R.STATE_RECONCILING),
                           R.condition("ContainerHealthy", R.STATE_RECONCILING),
                           R.condition("ResourcesAvailable", R.STATE_RECONCILING)],
            "observedGeneration": "1",
            "logUri": f"{self.api_base}/emulator/v1/logs?revision={full}",
            "etag": f'"{uuid.uuid4().hex}"',
        }
        rev_json = R.to_proto_json(run_v2.Revision, raw)
        rev_json["_serviceGeneration"] = generation
        self.state.revisions[full] = rev_json

    async def update_service(self, name: str, body: Json, update_mask: str, validate_only: bool,
                             allow_missing: bool) -> Json:
        if name not in self.state.services and allow_missing:
            parent, service_id = name.rsplit("/services/", 1)
            return await self.create_service(parent, service_id, body, validate_only)
        incoming = R.normalise_service(body)
        async with self._lock:
            current = self._get_service(name)
            project, location = name.split("/")[1], name.split("/")[3]
            service_id = name.rsplit("/", 1)[1]
            spec = {k: copy.deepcopy(v) for k, v in current.items()
                    if k not in R.SERVICE_OUTPUT_ONLY and not k.startswith("_")}
            if update_mask:
                for path in update_mask.split(","):
                    R.set_at_path(spec, incoming, R.snake_to_camel(path.strip()))
            else:
                spec = incoming
            spec["name"] = name
            generation = int(current.get("generation", "1")) + 1
            new_rev = self._plan_revision(name, service_id, spec, current, generation)
            known = self._revisions_of(name)
            latest_ready = current.get("latestReadyRevision", "").rsplit("/", 1)[-1] or None
            if not spec.get("traffic"):
                spec["traffic"] = [{"type": R.TRAFFIC_LATEST, "percent": 100}]
            R.validate_traffic(spec["traffic"], known_revisions=known, new_revision=new_rev,
                               latest_revision=new_rev or latest_ready
                               or current.get("latestCreatedRevision", "").rsplit("/", 1)[-1])
            svc = {**{k: v for k, v in current.items() if k in R.SERVICE_OUTPUT_ONLY or k.startswith("_")},
                   **spec}
            svc["generation"] = str(generation)
            svc["updateTime"] = R.now_rfc3339()
            svc["lastModifier"] = "emulator@cocusctl.local"
            svc["reconciling"] = True
            svc["etag"] = f'"{uuid.uuid4().hex}"'
            if new_rev:
                svc["latestCreatedRevision"] = f"{name}/revisions/{new_rev}"
            if validate_only:
                return self._validate_only_op(project, location, svc)
            self.state.services[name] = svc
            if new_rev:
                self._record_revision(name, service_id, new_rev, svc, generation)
            op = self._new_operation(project, location, run_v2.Service, svc, generation)
            self.store.save()
        self._spawn(self._reconcile(name, op["name"], generation))
        return self._public(op)

    async def delete_service(self, name: str, validate_only: bool) -> Json:
        async with self._lock:
            svc = self._get_service(name)
            project, location = name.split("/")[1], name.split("/")[3]
            if validate_only:
                return self._validate_only_op(project, location, svc)
            del self.state.services[name]
            for key in [k for k in self.state.ports if k == name or k.startswith(name + "#")]:
                await self.router.unlisten(self.state.ports.pop(key))
            self.router.drop_service(name)
            for rev_name in [k for k in self.state.revisions if k.startswith(name + "/revisions/")]:
                del self.state.revisions[rev_name]
                await self._stop_revision(rev_name)
            svc = {**svc, "deleteTime": R.now_rfc3339()}
            op = self._new_operation(project, location, run_v2.Service, svc, 0, done=True)
            self.store.save()
        return self._public(op)

    # ------------------------------------------------------------------ revisions
    def _revision_out(self, rev: Json) -> Json:
        out = self._public(rev)
        out["logUri"] = f"{self.api_base}/emulator/v1/logs?revision={rev['name']}"
        return out

    def list_revisions(self, service_name: str) -> list[Json]:
        self._get_service(service_name)
        revs = [self._revision_out(r) for r in self._revisions_of(service_name).values()]
        return sorted(revs, key=lambda r: r.get("createTime", ""), reverse=True)

    def get_revision(self, name: str) -> Json:
        rev = self.state.revisions.get(name)
        if rev is None:
            raise ApiError(404, f"Revision '{name.rsplit('/', 1)[-1]}' does not exist.")
        return self._revision_out(rev)

    async def delete_revision(self, name: str, validate_only: bool) -> Json:
        async with self._lock:
            rev = self.get_revision(name)
            service_name = name.split("/revisions/")[0]
            svc = self._get_service(service_name)
            rev_id = name.rsplit("/", 1)[1]
            referenced = {t.get("revision") for t in svc.get("trafficStatuses", []) + svc.get("traffic", [])}
            if rev_id in referenced:
                raise ApiError(400, f"Revision '{rev_id}' is receiving traffic or has a tag and cannot be "
                               "deleted.", "FAILED_PRECONDITION")
            if svc.get("latestCreatedRevision") == name:
                raise ApiError(400, f"Revision '{rev_id}' is the latest created revision and cannot be "
                               "deleted.", "FAILED_PRECONDITION")
            project, location = name.split("/")[1], name.split("/")[3]
            if validate_only:
                op = self._validate_only_op(project, location, rev)
                return op
            del self.state.revisions[name]
            await self._stop_revision(name)
            op = self._new_operation(project, location, run_v2.Revision, rev, 0, done=True)
            self.store.save()
        return self._public(op)

    # ------------------------------------------------------------------ emulator extensions
    def stats(self, service_name: str) -> Json:
        self._get_service(service_name)
        per_rev: dict[str, RevisionStats] = self.router.stats.get(service_name, {})
        return {"service": service_name, "revisions": {k: v.as_json() for k, v in per_rev.items()}}

    def reset_stats(self, service_name: str) -> None:
        self._get_service(service_name)
        self.router.stats.pop(service_name, None)

    async def logs(self, revision_name: str, tail: int) -> str:
        self.get_revision(revision_name)
        rt = self.runtimes.get(revision_name)
        if rt is None:
            return ""
        if rt.container_id:
            text = await asyncio.to_thread(self.runtime.logs, rt.container_id, tail)
            if text:
                return text
        return "\n".join(rt.last_logs.splitlines()[-tail:])

    # ------------------------------------------------------------------ reconcile
    async def _reconcile(self, name: str, op_name: str, generation: int) -> None:
        try:
            await self._reconcile_inner(name, op_name, generation)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not leave the operation hanging
            log.exception("reconcile failed")
            self._finish_op(op_name, None, f"Internal error: {exc}", code=13)
            self.store.save()

    async def _reconcile_inner(self, name: str, op_name: str, generation: int) -> None:
        svc = self.state.services.get(name)
        if svc is None:
            self._finish_op(op_name, None, "The service was deleted.", code=10)
            return
        latest_created = svc.get("latestCreatedRevision", "")
        config_error: str | None = None
        created_here = self.state.revisions.get(latest_created, {}).get("_serviceGeneration") == generation
        if created_here:
            try:
                await self._ensure_running(latest_created)
            except RevisionFailed as exc:
                config_error = exc.message
        # Resolve the traffic spec now that the new revision has settled.
        svc = self.state.services.get(name)
        if svc is None:
            self._finish_op(op_name, None, "The service was deleted.", code=10)
            return
        if int(svc.get("generation", "0")) != generation:
            self._finish_op(op_name, None, "The operation was superseded by a newer update of the service.",
                            code=10)
            self.store.save()
            return
        known = self._revisions_of(name)
        latest_ready = svc.get("latestReadyRevision", "").rsplit("/", 1)[-1] or None
        route_error: str | None = None
        try:
            targets = R.validate_traffic(svc.get("traffic", []), known_revisions=known, new_revision=None,
                                         latest_revision=latest_ready)
        except ApiError as exc:
            targets = []
            route_error = exc.message
        if not route_error:
            needed = {t.revision for t in targets if t.percent > 0 or t.tag}
            results = await asyncio.gather(
                *(self._ensure_running(f"{name}/revisions/{r}") for r in needed), return_exceptions=True
            )
            failed = [(r, e) for r, e in zip(needed, results, strict=True) if isinstance(e, BaseException)]
            if failed:
                rev, err = failed[0]
                msg = err.message if isinstance(err, RevisionFailed) else str(err)
                route_error = f"Revision '{rev}' is not ready and cannot serve traffic. {msg}"
        svc = self.state.services.get(name)
        if svc is None or int(svc.get("generation", "0")) != generation:
            self._finish_op(op_name, None, "The operation was superseded by a newer update of the service.",
                            code=10)
            self.store.save()
            return
        if route_error is None:
            svc["trafficStatuses"] = [self._status_entry(svc, t) for t in targets]
            await self._sync_tag_ports(name, svc)
            svc["trafficStatuses"] = [self._status_entry(svc, t) for t in targets]
            self._publish_routes(name, svc)
        # The configuration is only as ready as its latest created revision — also after traffic moved away
        # from a failed one (the service then serves, but reports not Ready until a newer revision succeeds).
        rev_id = latest_created.rsplit("/", 1)[-1]
        latest = self.state.revisions.get(latest_created, {})
        config_message: str | None
        if config_error is None and R.revision_ready_state(latest) == R.STATE_FAILED:
            config_message = self._ready_message(latest)
        else:
            config_message = config_error
        cfg_failed = f"Revision '{rev_id}' is not ready and cannot serve traffic. {config_message}" \
            if config_message else ""
        cfg_state = R.STATE_FAILED if cfg_failed else R.STATE_SUCCEEDED
        route_state = R.STATE_FAILED if route_error else R.STATE_SUCCEEDED
        svc["conditions"] = [
            R.condition("ConfigurationsReady", cfg_state, cfg_failed, reason=R.REASON_REVISION_FAILED
                        if cfg_failed else None, severity=R.SEVERITY_ERROR if cfg_failed else None),
            R.condition("RoutesReady", route_state, route_error or "",
                        severity=R.SEVERITY_ERROR if route_error else None),
        ]
        # The operation fails when its own new revision failed or its traffic cannot be served.
        error = (cfg_failed if config_error else None) or route_error
        ready_message = error or route_error or cfg_failed
        svc["terminalCondition"] = R.condition(
            "Ready", R.STATE_FAILED if ready_message else R.STATE_SUCCEEDED, ready_message,
            reason=R.REASON_REVISION_FAILED if ready_message else None,
            severity=R.SEVERITY_ERROR if ready_message else None,
        )
        svc["observedGeneration"] = str(generation)
        svc["reconciling"] = False
        self._finish_op(op_name, svc, error, code=9)
        self.store.save()
        self._spawn(self._reap_idle(name))

    def _status_entry(self, svc: Json, t: R.ResolvedTarget) -> Json:
        entry: Json = {"type": R.TRAFFIC_LATEST if t.latest else R.TRAFFIC_REVISION}
        entry["revision"] = t.revision
        if t.percent:
            entry["percent"] = t.percent
        if t.tag:
            entry["tag"] = t.tag
            port = self.state.ports.get(f"{svc['name']}#{t.tag}")
            if port:
                entry["uri"] = f"http://127.0.0.1:{port}"
        return entry

    def _finish_op(self, op_name: str, svc: Json | None, error: str | None, *, code: int) -> None:
        op = self.state.operations.get(op_name)
        if op is None:
            return
        op["done"] = True
        if svc is not None:
            op["metadata"] = R.any_of(run_v2.Service, self._public(svc))
        if error:
            op["error"] = {"code": code, "message": error}
            op.pop("response", None)
        else:
            op["response"] = R.any_of(run_v2.Service, self._public(svc or {}))

    async def _sync_tag_ports(self, name: str, svc: Json) -> None:
        wanted = {t.get("tag") for t in svc.get("trafficStatuses", []) if t.get("tag")}
        for key in [k for k in self.state.ports if k.startswith(name + "#")]:
            if key.split("#", 1)[1] not in wanted:
                await self.router.unlisten(self.state.ports.pop(key))
        for tag in wanted:
            key = f"{name}#{tag}"
            if self.router.port_owner.get(self.state.ports.get(key, -1)) == (name, tag):
                continue
            self.state.ports[key] = await self.router.listen(self.state.ports.get(key, 0), name, tag)

    def _publish_routes(self, name: str, svc: Json) -> None:
        table = RouteTable(service_id=name.rsplit("/", 1)[1])
        for t in svc.get("trafficStatuses", []):
            rev = t.get("revision")
            if not rev:
                continue
            if t.get("percent", 0) > 0:
                table.split.append((rev, int(t["percent"])))
            if t.get("tag"):
                table.tags[t["tag"]] = rev
        self.router.set_routes(name, table)

    async def _reap_idle(self, name: str) -> None:
        await asyncio.sleep(IDLE_GRACE_SECONDS)
        svc = self.state.services.get(name)
        if svc is None:
            return
        referenced = {t.get("revision") for t in svc.get("trafficStatuses", [])}
        latest = svc.get("latestCreatedRevision", "")
        for full, rt in list(self.runtimes.items()):
            if not full.startswith(name + "/revisions/") or full == latest or rt.boot is not None:
                continue
            if full.rsplit("/", 1)[1] not in referenced and rt.container_id:
                await self._stop_revision(full)

    # ------------------------------------------------------------------ containers
    async def _resolve_backend(self, service_name: str, rev_id: str) -> int:
        return await self._ensure_running(f"{service_name}/revisions/{rev_id}")

    def _backend_dead(self, service_name: str, rev_id: str) -> None:
        rt = self.runtimes.get(f"{service_name}/revisions/{rev_id}")
        if rt is not None and rt.boot is None:
            rt.healthy = False
            rt.port = None
            self._publish_targets()

    async def _stop_revision(self, full: str) -> None:
        rt = self.runtimes.pop(full, None)
        self._publish_targets()
        if rt and rt.container_id:
            await asyncio.to_thread(self.runtime.remove, rt.container_id)

    async def _ensure_running(self, full: str) -> int:
        rt = self.runtimes.setdefault(full, RevisionRuntime())
        if rt.healthy and rt.port:
            return rt.port
        if rt.boot is None:
            rt.boot = asyncio.get_running_loop().create_task(self._boot(full, rt))
        return await asyncio.shield(rt.boot)

    async def _boot(self, full: str, rt: RevisionRuntime) -> int:
        try:
            rev = self.state.revisions.get(full)
            if rev is None:
                raise RevisionFailed("The revision does not exist.", reason=R.REASON_REVISION_FAILED)
            if R.revision_ready_state(rev) == R.STATE_FAILED:
                raise RevisionFailed(self._ready_message(rev), reason=R.REASON_REVISION_FAILED)
            try:
                port = await self._start_and_probe(full, rev, rt)
            except RevisionFailed as exc:
                self._mark_revision(full, exc)
                raise
            self._mark_revision(full, None)
            rt.healthy = True
            rt.port = port
            self._publish_targets()
            return port
        finally:
            rt.boot = None

    @staticmethod
    def _ready_message(rev: Json) -> str:
        for c in rev.get("conditions", []):
            if c.get("type") == "Ready":
                return str(c.get("message", ""))
        return ""

    def _mark_revision(self, full: str, failure: RevisionFailed | None) -> None:
        rev = self.state.revisions.get(full)
        if rev is None:
            return
        was_ready = R.revision_ready_state(rev) == R.STATE_SUCCEEDED
        if failure is None and was_ready:
            return
        if failure is None:
            rev["conditions"] = [R.condition("Ready", R.STATE_SUCCEEDED),
                                 R.condition("ContainerHealthy", R.STATE_SUCCEEDED),
                                 R.condition("ResourcesAvailable", R.STATE_SUCCEEDED)]
            svc = self.state.services.get(rev["service"])
            if svc is not None:
                newest = self.state.revisions.get(svc.get("latestReadyRevision", ""), {})
                if rev.get("createTime", "") >= newest.get("createTime", ""):
                    svc["latestReadyRevision"] = full
        else:
            rev["conditions"] = [
                R.condition("Ready", R.STATE_FAILED, failure.message, reason=failure.reason,
                            severity=R.SEVERITY_ERROR),
                R.condition("ContainerHealthy", R.STATE_FAILED, failure.message,
                            revision_reason=failure.revision_reason or R.REASON_HEALTH_CHECK,
                            severity=R.SEVERITY_ERROR),
                R.condition("ResourcesAvailable", R.STATE_SUCCEEDED),
            ]
        rev["reconciling"] = False
        rev["updateTime"] = R.now_rfc3339()
        self.store.save()

    async def _start_and_probe(self, full: str, rev: Json, rt: RevisionRuntime) -> int:
        project, service_id = full.split("/")[1], full.split("/")[5]
        rev_id = full.rsplit("/", 1)[1]
        container = (rev.get("containers") or [{}])[0]
        if rt.container_id:
            await asyncio.to_thread(self.runtime.remove, rt.container_id)
            rt.container_id = None
        port = free_port()
        try:
            rt.container_id = await asyncio.to_thread(
                self.runtime.start, project=project, service_id=service_id, revision_id=rev_id, revision=rev,
                port=port
            )
        except ContainerStartError as exc:
            reason = R.REASON_CONTAINER_MISSING if exc.missing_image else R.REASON_REVISION_FAILED
            raise RevisionFailed(str(exc), reason=reason) from None
        probe = container.get("startupProbe") or {}
        http_path = (probe.get("httpGet") or {}).get("path")
        initial = float(probe.get("initialDelaySeconds", 0))
        period = _seconds(probe.get("periodSeconds", 240 if not probe else 10))
        threshold = int(probe.get("failureThreshold", 1 if not probe else 3))
        deadline = time.monotonic() + min(max(initial + period * threshold, 1.0), DEFAULT_STARTUP_SECONDS)
        if initial:
            await asyncio.sleep(initial)
        last_check = 0.0
        while True:
            if await self._probe_once(port, http_path):
                return port
            now = time.monotonic()
            if now - last_check > 0.5:
                last_check = now
                st = await asyncio.to_thread(self.runtime.state, rt.container_id)
                if not st.running:
                    rt.last_logs = await asyncio.to_thread(self.runtime.logs, rt.container_id, 50)
                    raise RevisionFailed(
                        f"The user-provided container exited with code {st.exit_code} before it was ready "
                        f"to serve on the port defined by the PORT={port} environment variable. Logs for "
                        f"this revision might contain more information.\n\nLogs URL: {rev.get('logUri', '')}",
                        reason=R.REASON_REVISION_FAILED,
                    )
            if now > deadline:
                rt.last_logs = await asyncio.to_thread(self.runtime.logs, rt.container_id, 50)
                await asyncio.to_thread(self.runtime.remove, rt.container_id)
                what = f"HTTP startup probe on path {http_path}" if http_path else "TCP startup probe"
                raise RevisionFailed(
                    "The user-provided container failed to start and listen on the port defined provided "
                    f"by the PORT={port} environment variable within the allocated timeout ({what} "
                    "failed). This can happen when the container port is misconfigured or if the timeout "
                    "is too short. Logs for this revision might contain more information.\n\n"
                    f"Logs URL: {rev.get('logUri', '')}",
                    reason=R.REASON_DEADLINE,
                )
            await asyncio.sleep(0.1)

    async def _probe_once(self, port: int, http_path: str | None) -> bool:
        if http_path:
            assert self._probe_session is not None
            try:
                async with self._probe_session.get(f"http://127.0.0.1:{port}{http_path}") as resp:
                    return 200 <= resp.status < 400
            except (TimeoutError, aiohttp.ClientError):
                return False
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
        except (TimeoutError, OSError):
            return False
        writer.close()
        return True


def _seconds(value: Any) -> float:
    if isinstance(value, str) and value.endswith("s"):
        value = value[:-1]
    return float(value)

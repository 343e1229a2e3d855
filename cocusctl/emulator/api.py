"""The Cloud Run Admin API v2 REST surface (what `google.cloud.run_v2` sends with `transport="rest"`).

Routes mirror the client's http rules: `/v2/{parent=projects/*/locations/*}/services`, PATCH of
`/v2/{service.name=...}` with `updateMask`, revisions under a service, and long-running operations under
`/v2/{name=projects/*/locations/*/operations/*}`. Errors are `{"error": {code, message, status}}`, which
the client maps to `google.api_core.exceptions` (409 -> Conflict, 404 -> NotFound, 400 -> BadRequest).

Emulator-only extensions live under `/emulator/v1/` (request counters, container logs, health, Prometheus
metrics).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .controller import Controller
from .resources import ApiError

PREFIX = "/v2/projects/{project}/locations/{location}"


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json")


def _page(items: list[Any], key: str, request: web.Request) -> web.Response:
    try:
        size = int(request.query.get("pageSize") or 0) or 100
        start = int(request.query.get("pageToken") or 0)
    except ValueError:
        raise ApiError(400, "Invalid page_size or page_token.") from None
    chunk = items[start:start + size]
    body: dict[str, Any] = {key: chunk}
    if start + size < len(items):
        body["nextPageToken"] = str(start + size)
    return _json(body)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Invalid JSON payload received.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Invalid JSON payload received: expected an object.")
    return data


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return _json(exc.body(), exc.http_status)


def build_app(ctl: Controller) -> web.Application:
    app = web.Application(middlewares=[_errors], client_max_size=16 * 1024 * 1024)
    r = app.router

    def names(req: web.Request) -> tuple[str, str]:
        parent = f"projects/{req.match_info['project']}/locations/{req.match_info['location']}"
        return parent, f"{parent}/services/{req.match_info.get('service', '')}"

    async def create_service(req: web.Request) -> web.Response:
        parent, _ = names(req)
        op = await ctl.create_service(parent, req.query.get("serviceId", ""), await _body(req),
                                      _truthy(req.query.get("validateOnly")))
        return _json(op)

    async def list_services(req: web.Request) -> web.Response:
        parent, _ = names(req)
        return _page(ctl.list_services(parent), "services", req)

    async def service_action(req: web.Request) -> web.Response:
        # `{service}` may carry a custom verb (":getIamPolicy") that the emulator does not implement.
        if ":" in req.match_info["service"]:
            raise ApiError(501, "IAM policies are not emulated.", "UNIMPLEMENTED")
        _, name = names(req)
        if req.method == "GET":
            return _json(ctl.get_service(name))
        if req.method == "DELETE":
            return _json(await ctl.delete_service(name, _truthy(req.query.get("validateOnly"))))
        body = await _body(req)
        return _json(await ctl.update_service(
            name, body, req.query.get("updateMask", ""), _truthy(req.query.get("validateOnly")),
            _truthy(req.query.get("allowMissing")),
        ))

    async def list_revisions(req: web.Request) -> web.Response:
        _, name = names(req)
        return _page(ctl.list_revisions(name), "revisions", req)

    async def revision(req: web.Request) -> web.Response:
        _, name = names(req)
        rev_name = f"{name}/revisions/{req.match_info['revision']}"
        if req.method == "GET":
            return _json(ctl.get_revision(rev_name))
        return _json(await ctl.delete_revision(rev_name, _truthy(req.query.get("validateOnly"))))

    async def list_operations(req: web.Request) -> web.Response:
        parent, _ = names(req)
        return _page(ctl.list_operations(parent), "operations", req)

    async def operation(req: web.Request) -> web.Response:
        parent, _ = names(req)
        op_id = req.match_info["operation"]
        if op_id.endswith(":wait") and req.method == "POST":
            body = await _body(req)
            timeout = float(str(body.get("timeout", "60s")).rstrip("s") or 60)
            return _json(await ctl.wait_operation(f"{parent}/operations/{op_id[:-5]}", timeout))
        name = f"{parent}/operations/{op_id}"
        if req.method == "DELETE":
            ctl.delete_operation(name)
            return _json({})
        return _json(ctl.get_operation(name))

    async def stats(req: web.Request) -> web.Response:
        service = req.query.get("service", "")
        if req.method == "POST":
            ctl.reset_stats(service)
            return _json({})
        return _json(ctl.stats(service))

    async def logs(req: web.Request) -> web.Response:
        tail = int(req.query.get("tail", "50"))
        return web.Response(text=await ctl.logs(req.query.get("revision", ""), tail))

    async def metrics(req: web.Request) -> web.Response:
        return web.Response(text=ctl.metrics(), content_type="text/plain", charset="utf-8")

    async def health(req: web.Request) -> web.Response:
        return _json({"status": "ok", "services": len(ctl.state.services)})

    r.add_post(PREFIX + "/services", create_service)
    r.add_get(PREFIX + "/services", list_services)
    r.add_route("*", PREFIX + "/services/{service}", service_action)
    r.add_get(PREFIX + "/services/{service}/revisions", list_revisions)
    r.add_route("*", PREFIX + "/services/{service}/revisions/{revision}", revision)
    r.add_get(PREFIX + "/operations", list_operations)
    r.add_route("*", PREFIX + "/operations/{operation}", operation)
    r.add_route("*", "/emulator/v1/stats", stats)
    r.add_get("/emulator/v1/logs", logs)
    r.add_get("/emulator/v1/healthz", health)
    r.add_get("/emulator/v1/metrics", metrics)
    return app

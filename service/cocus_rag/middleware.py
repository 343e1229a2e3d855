"""Pure ASGI middleware: request ids, body-size limit, access log, request metrics."""

from __future__ import annotations

import json
import logging
import time
import uuid

from .errors import error_body
from .logs import parse_trace
from .metrics import Metrics

access_log = logging.getLogger("cocus_rag.access")


class _BodyTooLarge(Exception):
    pass


class RequestMiddleware:
    def __init__(self, app, metrics: Metrics, max_body_bytes: int, project: str, log_questions: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes
        self.project = project
        self.log_questions = log_questions

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        response_size = 0
        request_size = 0
        started = False
        oversize = False
        replaced = False

        async def send_wrapper(message) -> None:
            nonlocal status, response_size, started, replaced
            if oversize:
                # The framework turned our receive error into its own response: send the 413 instead.
                if not replaced and message["type"] == "http.response.start":
                    replaced = True
                    await self._too_large(send_wrapper_raw, request_id)
                return
            await send_wrapper_raw(message)

        async def send_wrapper_raw(message) -> None:
            nonlocal status, response_size, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                response_size += len(message.get("body", b""))
            await send(message)

        async def receive_wrapper():
            nonlocal request_size, oversize
            message = await receive()
            if message["type"] == "http.request":
                request_size += len(message.get("body", b""))
                if request_size > self.max_body:
                    oversize = True
                    raise _BodyTooLarge
            return message

        self.metrics.http_in_flight.inc()
        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                await self._too_large(send_wrapper_raw, request_id)
            else:
                try:
                    await self.app(scope, receive_wrapper, send_wrapper)
                except _BodyTooLarge:
                    if not started:
                        await self._too_large(send_wrapper_raw, request_id)
        finally:
            self.metrics.http_in_flight.dec()
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "unmatched"
            self.metrics.http_latency.labels(scope.get("method", ""), route_path, str(status)).observe(elapsed)
            self._log(scope, headers, status, elapsed, request_size, response_size, request_id)

    async def _too_large(self, send, request_id: str) -> None:
        body = json.dumps(error_body("payload_too_large", f"request body exceeds {self.max_body} bytes",
                                     request_id)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope, headers, status, elapsed, req_size, resp_size, request_id) -> None:
        path = scope.get("path", "")
        query = scope.get("query_string", b"").decode("latin-1")
        client = scope.get("client") or ("", 0)
        http_request = {
            "requestMethod": scope.get("method", ""),
            "requestUrl": path + ("?" + query if query else ""),
            "status": status,
            "latency": f"{elapsed:.6f}s",
            "userAgent": headers.get("user-agent", ""),
            "remoteIp": headers.get("x-forwarded-for", "").split(",")[0].strip() or client[0],
            "requestSize": str(req_size),
            "responseSize": str(resp_size),
            "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
        }
        cloud = {"httpRequest": http_request, "request_id": request_id, **parse_trace(headers, self.project)}
        state = scope.get("state", {})
        if self.log_questions and state.get("question") is not None:
            cloud["question"] = state["question"]
        if "cache" in state:
            cloud["cache"] = state["cache"]
        severity = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        access_log.log(severity, "%s %s %d %.1fms", http_request["requestMethod"], path, status, elapsed * 1000,
                       extra={"cloud": cloud})

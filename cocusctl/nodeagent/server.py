"""The agent's HTTPS endpoint: the kubelet log API and the metrics.k8s.io aggregated API.

Only the API server calls it: for `pods/log` with its kubelet-client certificate (cluster CA), and for
metrics through the aggregation layer with the front-proxy client certificate (front-proxy CA), so
every connection must present a certificate signed by one of those two CAs.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cocusctl.nodeagent.metrics import GROUP_VERSION, MetricsSampler

Json = dict[str, Any]
log = logging.getLogger("cocusctl.nodeagent.server")

# (namespace, pod, container, previous, tail lines, since seconds, timestamps, follow) -> chunks, or None
LogSource = Callable[[str, str, str, bool, int | None, int | None, bool, bool], Iterator[bytes] | None]

RESOURCES = {
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
    "resources": [
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
    ],
}
GROUP = {"name": "metrics.k8s.io", "versions": [{"groupVersion": GROUP_VERSION, "version": "v1beta1"}],
         "preferredVersion": {"groupVersion": GROUP_VERSION, "version": "v1beta1"}}
OPENAPI = {"swagger": "2.0", "info": {"title": "cocus node agent metrics", "version": "v1beta1"}, "paths": {}}


def _int(query: dict[str, list[str]], name: str) -> int | None:
    values = query.get(name)
    return int(values[0]) if values and values[0].lstrip("-").isdigit() else None


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (query.get(name) or ["false"])[0] in ("true", "1")


class AgentServer:
    def __init__(self, port: int, cert: Path, key: Path, client_cas: tuple[Path, ...], metrics: MetricsSampler,
                 logs: LogSource) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        context.verify_mode = ssl.CERT_REQUIRED
        for ca in client_cas:
            context.load_verify_locations(str(ca))
        self.metrics = metrics
        self.logs = logs
        handler = self._handler_class()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)

    def start(self) -> None:
        threading.Thread(target=self.httpd.serve_forever, name="agent-https", daemon=True).start()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s " + format, self.client_address[0], *args)

            def _json(self, status: int, body: Json) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _not_found(self, what: str) -> None:
                self._json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                                 "code": 404, "message": f"{what} not found"})

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                path = url.path.rstrip("/")
                try:
                    self._route(path, query)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                except ValueError as exc:
                    self._json(400, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 400,
                                     "reason": "BadRequest", "message": str(exc)})

            def _route(self, path: str, query: dict[str, list[str]]) -> None:
                metrics = server.metrics
                selector = (query.get("labelSelector") or [""])[0]
                if path == "/healthz":
                    data = b"ok"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                elif path == "/openapi/v2":
                    self._json(200, OPENAPI)
                elif path == "/apis":
                    self._json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [GROUP]})
                elif path == "/apis/metrics.k8s.io":
                    self._json(200, {"kind": "APIGroup", "apiVersion": "v1", **GROUP})
                elif path == f"/apis/{GROUP_VERSION}":
                    self._json(200, RESOURCES)
                elif path == f"/apis/{GROUP_VERSION}/nodes":
                    self._json(200, metrics.node_list())
                elif m := re.fullmatch(rf"/apis/{GROUP_VERSION}/nodes/([^/]+)", path):
                    items = [n for n in metrics.node_list()["items"] if n["metadata"]["name"] == m.group(1)]
                    self._json(200, items[0]) if items else self._not_found(f'nodemetrics "{m.group(1)}"')
                elif path == f"/apis/{GROUP_VERSION}/pods":
                    self._json(200, metrics.pod_list(None, selector))
                elif m := re.fullmatch(rf"/apis/{GROUP_VERSION}/namespaces/([^/]+)/pods", path):
                    self._json(200, metrics.pod_list(m.group(1), selector))
                elif m := re.fullmatch(rf"/apis/{GROUP_VERSION}/namespaces/([^/]+)/pods/([^/]+)", path):
                    found = metrics.pod(m.group(1), m.group(2))
                    self._json(200, found) if found else self._not_found(f'podmetrics "{m.group(2)}"')
                elif m := re.fullmatch(r"/containerLogs/([^/]+)/([^/]+)/([^/]+)", path):
                    self._logs(m.group(1), m.group(2), m.group(3), query)
                else:
                    self._not_found(path)

            def _logs(self, namespace: str, pod: str, container: str, query: dict[str, list[str]]) -> None:
                follow = _flag(query, "follow")
                chunks = server.logs(namespace, pod, container, _flag(query, "previous"), _int(query, "tailLines"),
                                     _int(query, "sinceSeconds"), _flag(query, "timestamps"), follow)
                if chunks is None:
                    self._not_found(f"container {container} of pod {namespace}/{pod}")
                    return
                limit = _int(query, "limitBytes")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                sent = 0
                for chunk in chunks:
                    if limit is not None:
                        chunk = chunk[: max(0, limit - sent)]
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        sent += len(chunk)
                    if limit is not None and sent >= limit:
                        break
                self.wfile.write(b"0\r\n\r\n")

        return Handler

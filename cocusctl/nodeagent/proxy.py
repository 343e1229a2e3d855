"""kube-proxy stand-in: each Service port gets a listener on 127.0.0.1, balancing TCP connections
round-robin over the Service's ready, non-terminating endpoints from its EndpointSlices.

ClusterIPs are not routable on this node (no iptables rules), so the local address is published on the
Service itself, as the annotation `cluster.cocus.dev/local-ports` ({"80/TCP": 41234}); `cocusctl cluster
status` lists them. NodePort Services listen on their nodePort when it is free. A backend that refuses
the connection is skipped for the next one (as kube-proxy's userspace mode did), and pods the agent is
stopping leave the rotation before their containers get SIGTERM.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cocusctl.adapters.kubernetes import MERGE_PATCH, KubeApi, KubeApiError
from cocusctl.core.cluster.control_plane import PROXY_ANNOTATION as ANNOTATION
from cocusctl.core.cluster.control_plane import port_free
from cocusctl.nodeagent.informer import Informer, key_of

Json = dict[str, Any]
log = logging.getLogger("cocusctl.nodeagent.proxy")

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
CONNECT_TIMEOUT_S = 2.0


@dataclass
class Listener:
    port: int
    server: asyncio.AbstractServer
    backends: tuple[tuple[str, int], ...] = ()
    turn: itertools.count = field(default_factory=itertools.count)


def backends_for(service_port: Json, slices: list[Json], leaving: set[str]) -> tuple[tuple[str, int], ...]:
    """(ip, port) of ready, non-terminating endpoints serving `service_port` (matched by port name)."""
    name = service_port.get("name") or ""
    out: list[tuple[str, int]] = []
    for endpoint_slice in slices:
        ports = [p for p in endpoint_slice.get("ports") or [] if (p.get("name") or "") == name]
        if not ports or ports[0].get("port") is None:
            continue
        target = int(ports[0]["port"])
        for endpoint in endpoint_slice.get("endpoints") or []:
            conditions = endpoint.get("conditions") or {}
            if conditions.get("ready") is False or conditions.get("terminating") is True:
                continue
            for address in endpoint.get("addresses") or []:
                if address not in leaving:
                    out.append((address, target))
    return tuple(sorted(set(out)))


class ServiceProxy:
    def __init__(self, kube: KubeApi, leaving: Callable[[], set[str]]) -> None:
        self.kube = kube
        self.leaving = leaving
        self.loop = asyncio.new_event_loop()
        self.listeners: dict[tuple[str, str], Listener] = {}   # (service key, "80/TCP") -> listener
        self._lock = threading.RLock()
        self.services = Informer(kube, "/api/v1/services", self._on_service, name="services")
        self.slice_version = self._slice_version()
        self.slices = Informer(kube, f"/apis/discovery.k8s.io/{self.slice_version}/endpointslices",
                               self._on_slice, name="endpointslices")

    def _slice_version(self) -> str:
        group = self.kube.request("GET", "/apis/discovery.k8s.io")
        return str((group.get("preferredVersion") or {}).get("version") or "v1")

    def start(self) -> None:
        threading.Thread(target=self.loop.run_forever, name="proxy-loop", daemon=True).start()
        self.services.start()
        self.slices.start()

    def synced(self, timeout: float) -> bool:
        """Wait until every Service and EndpointSlice has been listed once (listeners exist)."""
        return self.services.synced.wait(timeout) and self.slices.synced.wait(timeout)

    def stop(self) -> None:
        self.services.stop()
        self.slices.stop()
        for listener in list(self.listeners.values()):
            self.loop.call_soon_threadsafe(listener.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)

    def refresh_all(self) -> None:
        """Re-evaluate every Service now (a pod started leaving)."""
        for key in list(self.services.store):
            self._refresh(key)

    # ------------------------------------------------------------------------------------ events ---
    def _on_service(self, kind: str, service: Json) -> None:
        self._refresh(key_of(service))

    def _on_slice(self, kind: str, endpoint_slice: Json) -> None:
        service = (endpoint_slice.get("metadata", {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if service:
            self._refresh(f"{endpoint_slice['metadata']['namespace']}/{service}")

    def _slices_of(self, key: str) -> list[Json]:
        namespace, name = key.split("/", 1)
        return [s for s in list(self.slices.store.values())
                if s["metadata"].get("namespace") == namespace
                and (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name]

    def _refresh(self, key: str) -> None:
        with self._lock:
            service = self.services.store.get(key)
            wanted: dict[str, Json] = {}
            spec = (service or {}).get("spec") or {}
            if service is not None and spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
                for port in spec.get("ports") or []:
                    if (port.get("protocol") or "TCP") == "TCP":
                        wanted[f"{port['port']}/TCP"] = port
            for (svc_key, port_key), listener in list(self.listeners.items()):
                if svc_key == key and port_key not in wanted:
                    self.loop.call_soon_threadsafe(listener.server.close)
                    del self.listeners[(svc_key, port_key)]
            if service is None:
                return
            published = _published(service)
            slices = self._slices_of(key)
            leaving = self.leaving()
            for port_key, port in wanted.items():
                current = self.listeners.get((key, port_key)) or self._listen(
                    key, port_key, published.get(port_key), port.get("nodePort"))
                if current is not None:
                    current.backends = backends_for(port, slices, leaving)
            ports = {pk: lst.port for (sk, pk), lst in self.listeners.items() if sk == key}
            if ports != published:
                self._publish(service, ports)

    def _listen(self, key: str, port_key: str, remembered: int | None, node_port: int | None) -> Listener | None:
        candidates = [p for p in (remembered, node_port) if p and port_free(p)] + [0]
        for candidate in candidates:
            future = asyncio.run_coroutine_threadsafe(self._serve(key, port_key, candidate), self.loop)
            try:
                listener = future.result(10)
            except OSError:
                continue
            self.listeners[(key, port_key)] = listener
            log.info("service %s %s -> 127.0.0.1:%d", key, port_key, listener.port)
            return listener
        return None

    async def _serve(self, key: str, port_key: str, port: int) -> Listener:
        holder: list[Listener] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._connect(holder[0], reader, writer)

        server = await asyncio.start_server(handle, "127.0.0.1", port)
        bound = int(server.sockets[0].getsockname()[1])
        holder.append(Listener(bound, server))
        return holder[0]

    def _publish(self, service: Json, ports: dict[str, int]) -> None:
        meta = service["metadata"]
        body = {"metadata": {"annotations": {ANNOTATION: json.dumps(ports, sort_keys=True)}}}
        try:
            self.kube.request("PATCH", f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}",
                              body, content_type=MERGE_PATCH)
        except KubeApiError as exc:
            if exc.status != 404:
                log.warning("publishing local ports of %s: %s", key_of(service), exc.message)

    # ---------------------------------------------------------------------------- data path ---
    async def _connect(self, listener: Listener, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        backends = listener.backends
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        if backends:
            first = next(listener.turn) % len(backends)
            leaving = self.leaving()
            for i in range(len(backends)):
                host, port = backends[(first + i) % len(backends)]
                if host in leaving:
                    continue
                try:
                    upstream = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
                    break
                except (TimeoutError, OSError):
                    continue
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()


def _published(service: Json) -> dict[str, int]:
    raw = (service["metadata"].get("annotations") or {}).get(ANNOTATION)
    try:
        return {str(k): int(v) for k, v in json.loads(raw).items()} if raw else {}
    except (ValueError, AttributeError):
        return {}


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy one direction; pass a half-close on, and on an error close the sink so the other direction ends."""
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()

"""The service URLs: a local HTTP router that splits requests across revisions by traffic percentages.

Each service gets its own 127.0.0.1 port; each tag gets a port too, and the service port also routes a
Host header `TAG---SERVICE...` to the tagged revision (Cloud Run's tag URL form). Requests are counted per
revision. A request whose backend connection fails before any response is retried on another revision
of the split, so moving traffic never drops requests.
"""

from __future__ import annotations

import bisect
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
}


class BackendUnavailable(Exception):
    pass


# Latency buckets (seconds) of the per-revision histogram; the service's own histogram has the same bounds.
LATENCY_BOUNDS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                  10.0, 30.0)


@dataclass
class RevisionStats:
    requests: int = 0
    errors: int = 0  # 5xx from the container or no answer
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Requests per latency bucket (the last one: above the last bound), for canary analysis.
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS) + 1))

    def record(self, status: int, seconds: float) -> None:
        self.requests += 1
        self.by_status[str(status)] += 1
        if status >= 500:
            self.errors += 1
        self.latency[bisect.bisect_left(LATENCY_BOUNDS, seconds)] += 1

    def as_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "byStatus": dict(self.by_status),
                "latency": {"bounds": list(LATENCY_BOUNDS), "counts": list(self.latency)}}


@dataclass
class RouteTable:
    service_id: str
    split: list[tuple[str, int]] = field(default_factory=list)  # (revision id, percent>0)
    tags: dict[str, str] = field(default_factory=dict)  # tag -> revision id

    def pick(self, exclude: set[str]) -> str | None:
        choices = [(r, p) for r, p in self.split if r not in exclude]
        if not choices:
            return None
        total = sum(p for _, p in choices)
        x = random.uniform(0, total)
        acc = 0.0
        for rev, p in choices:
            acc += p
            if x < acc:
                return rev
        return choices[-1][0]


# (service full name, revision id) -> backend port, starting the revision when it is scaled to zero.
Resolver = Callable[[str, str], Awaitable[int]]
DeadNotifier = Callable[[str, str], None]


class Router:
    """One aiohttp application serving every service and tag port (the listening port selects the route)."""

    def __init__(self, resolve: Resolver, on_dead: DeadNotifier) -> None:
        self._resolve = resolve
        self._on_dead = on_dead
        self.tables: dict[str, RouteTable] = {}  # service full name -> table
        self.port_owner: dict[int, tuple[str, str | None]] = {}  # port -> (service, tag)
        self.stats: dict[str, dict[str, RevisionStats]] = defaultdict(lambda: defaultdict(RevisionStats))
        self._sites: dict[int, web.TCPSite] = {}
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        await self.runner.setup()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200, limit_per_host=100),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=300, sock_connect=5),
        )

    async def close(self) -> None:
        if self._session:
            await self._session.close()
        await self.runner.cleanup()

    async def listen(self, port: int, service: str, tag: str | None) -> int:
        """Serve `service` (or its `tag`) on `port`; port 0 or a busy port gets a fresh one."""
        for candidate in (port, 0) if port else (0,):
            site = web.TCPSite(self.runner, "127.0.0.1", candidate, reuse_address=True)
            try:
                await site.start()
            except OSError:
                continue
            sockets = getattr(site._server, "sockets", None)  # the bound asyncio server
            bound = int(sockets[0].getsockname()[1]) if sockets else candidate
            self._sites[bound] = site
            self.port_owner[bound] = (service, tag)
            return bound
        raise OSError(f"cannot bind a router port for {service}")

    async def unlisten(self, port: int) -> None:
        site = self._sites.pop(port, None)
        self.port_owner.pop(port, None)
        if site:
            await site.stop()

    def set_routes(self, service: str, table: RouteTable) -> None:
        self.tables[service] = table

    def drop_service(self, service: str) -> None:
        self.tables.pop(service, None)
        self.stats.pop(service, None)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        port = int(sockname[1]) if sockname else 0
        owner = self.port_owner.get(port)
        if owner is None:
            return web.Response(status=404, text="no service on this port\n")
        service, tag = owner
        table = self.tables.get(service)
        if table is None:
            return web.Response(status=503, text="service has no ready revision\n")
        host = request.headers.get("Host", "")
        if tag is None and "---" in host:
            tag = host.split("---", 1)[0]
        body = await request.read()
        tried: set[str] = set()
        while True:
            if tag is not None:
                rev = table.tags.get(tag) if not tried else None
                if rev is None and not tried:
                    return web.Response(status=404, text=f"tag '{tag}' not found\n")
            else:
                rev = table.pick(tried)
            if rev is None:
                return web.Response(status=503, text="no revision could serve the request\n")
            tried.add(rev)
            stats = self.stats[service][rev]
            try:
                return await self._forward(service, rev, request, body, stats)
            except BackendUnavailable:
                continue

    async def _forward(
        self, service: str, rev: str, request: web.Request, body: bytes, stats: RevisionStats
    ) -> web.Response:
        assert self._session is not None
        try:
            port = await self._resolve(service, rev)
        except Exception:
            raise BackendUnavailable() from None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = request.remote or "127.0.0.1"
        url = f"http://127.0.0.1:{port}{request.path_qs}"
        started = time.perf_counter()
        try:
            async with self._session.request(
                request.method, url, headers=headers, data=body or None, allow_redirects=False
            ) as resp:
                payload = await resp.read()
                out_headers = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            if isinstance(exc, aiohttp.ClientConnectorError):
                self._on_dead(service, rev)
                raise BackendUnavailable() from None
            if isinstance(exc, aiohttp.ServerDisconnectedError) and request.method in ("GET", "HEAD"):
                raise BackendUnavailable() from None
            stats.record(502, time.perf_counter() - started)
            return web.Response(status=502, text=f"revision {rev} did not answer\n")
        stats.record(resp.status, time.perf_counter() - started)
        out_headers["X-Cocus-Revision"] = rev
        return web.Response(status=resp.status, body=payload, headers=out_headers)

"""Prometheus' HTTP API (`/api/v1/query`): instant queries for canary analysis and `monitoring status`."""

from __future__ import annotations

import math
from typing import Any

from cocusctl.core.errors import CloudApiError, NotAvailableError


class Prometheus:
    """Satisfies `cocusctl.core.observability.prometheus.PrometheusQuery`."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """An instant query: (labels, value) per series; NaN values are left out."""
        import httpx

        try:
            resp = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise NotAvailableError(f"Prometheus at {self.url} is not reachable ({type(exc).__name__})",
                                    hint="start it with `cocusctl monitoring start`") from None
        body: dict[str, Any] = resp.json() if resp.headers.get("content-type", "").startswith("application/json") \
            else {}
        if resp.status_code != 200 or body.get("status") != "success":
            raise CloudApiError(f"Prometheus query failed ({resp.status_code}): {body.get('error', resp.text[:200])}")
        data = body["data"]
        if data["resultType"] == "scalar":
            value = float(data["result"][1])
            return [] if math.isnan(value) else [({}, value)]
        out = []
        for series in data["result"]:
            value = float(series["value"][1])
            if not math.isnan(value):
                out.append((dict(series["metric"]), value))
        return out

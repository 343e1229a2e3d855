"""Startup, readiness and liveness probes with the kubelet's semantics (delays, periods, thresholds).

httpGet (2xx/3xx is success), tcpSocket (connect), exec (exit 0, through the runtime). The host of an
httpGet or tcpSocket probe defaults to the pod's IP, as in Kubernetes.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
Exec = Callable[[list[str], float], int]


def resolve_port(port: Any, container: Json) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ValueError(f"port {port!r} is not a declared container port")


def check(probe: Json, container: Json, pod_ip: str, run_exec: Exec) -> tuple[bool, str]:
    """Run one probe attempt; (success, message for events when it failed)."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "httpGet" in probe:
            action = probe["httpGet"]
            host = action.get("host") or pod_ip
            port = resolve_port(action.get("port"), container)
            conn_cls = http.client.HTTPSConnection if action.get("scheme") == "HTTPS" else http.client.HTTPConnection
            conn = conn_cls(host, port, timeout=timeout)
            try:
                headers = {h["name"]: h["value"] for h in action.get("httpHeaders") or []}
                headers.setdefault("User-Agent", "kube-probe/1.20")
                conn.request("GET", action.get("path") or "/", headers=headers)
                status = conn.getresponse().status
            finally:
                conn.close()
            return 200 <= status < 400, f"HTTP probe failed with statuscode: {status}"
        if "tcpSocket" in probe:
            action = probe["tcpSocket"]
            port = resolve_port(action.get("port"), container)
            with socket.create_connection((action.get("host") or pod_ip, port), timeout=timeout):
                return True, ""
        if "exec" in probe:
            code = run_exec(list(probe["exec"].get("command") or []), timeout)
            return code == 0, f"exec probe exited {code}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return False, f"probe failed: {exc}"
    return False, "probe has no handler"


@dataclass
class ProbeState:
    """One probe of one container instance: when it runs next and its consecutive results."""

    probe: Json
    started_at: float
    successes: int = 0
    failures: int = 0
    result: bool | None = None   # None until the first threshold is reached
    next_at: float = 0.0

    def __post_init__(self) -> None:
        self.next_at = self.started_at + float(self.probe.get("initialDelaySeconds") or 0)

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def record(self, ok: bool, now: float) -> bool | None:
        """Count one attempt; returns the probe's result once a threshold is crossed (else the last one)."""
        self.next_at = now + float(self.probe.get("periodSeconds") or 10)
        if ok:
            self.successes += 1
            self.failures = 0
            if self.successes >= int(self.probe.get("successThreshold") or 1):
                self.result = True
        else:
            self.failures += 1
            self.successes = 0
            if self.failures >= int(self.probe.get("failureThreshold") or 3):
                self.result = False
        return self.result

"""metrics.k8s.io/v1beta1 from real container usage: what the HPA in the controller manager reads.

Every `RESOLUTION_S` seconds the sampler reads each running container's cumulative CPU time and memory
working set from the Docker engine; CPU usage is the rate between two samples (nanocores), the window the
time between them, as metrics-server reports it. Served by `server.py` through the API server's
aggregation layer (APIService `v1beta1.metrics.k8s.io`).
"""

from __future__ import annotations

import datetime
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cocusctl.nodeagent.runtime import ContainerRuntime

Json = dict[str, Any]
log = logging.getLogger("cocusctl.nodeagent.metrics")

RESOLUTION_S = 5.0
GROUP_VERSION = "metrics.k8s.io/v1beta1"


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str
    labels: dict[str, str]
    containers: tuple[tuple[str, str], ...]   # (container name, container id) of running containers


_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9_.-]*)|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def _split_selector(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def matches(selector: str, labels: dict[str, str]) -> bool:
    """A label selector string (=, ==, !=, in, notin, exists, !exists) against labels."""
    for requirement in _split_selector(selector or ""):
        match = _REQUIREMENT.match(requirement)
        if match is None:
            raise ValueError(f"unable to parse requirement: {requirement.strip()!r}")
        key = match.group("key")
        if match.group("op"):
            equal = labels.get(key) == match.group("value")
            if equal != (match.group("op") != "!="):
                return False
        elif match.group("setop"):
            values = {v.strip() for v in match.group("values").split(",")}
            inside = key in labels and labels[key] in values
            if inside != (match.group("setop") == "in"):
                return False
        elif (key in labels) == bool(match.group("neg")):
            return False
    return True


def _rfc3339(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MetricsSampler(threading.Thread):
    def __init__(self, runtime: ContainerRuntime, pods: Callable[[], list[PodRef]], node: str) -> None:
        super().__init__(name="metrics", daemon=True)
        self.runtime = runtime
        self.pods = pods
        self.node = node
        self._previous: dict[str, tuple[float, int]] = {}   # container id -> (time, cpu ns)
        self._pod_metrics: dict[tuple[str, str], Json] = {}
        self._node_metrics: Json | None = None
        self._host_previous: tuple[float, int] | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(RESOLUTION_S):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a failed round is retried at the next one
                log.exception("metrics sample failed")

    def sample(self) -> None:
        fresh: dict[tuple[str, str], Json] = {}
        seen: set[str] = set()
        for pod in self.pods():
            containers, windows, stamps = [], [], []
            for name, container_id in pod.containers:
                usage = self.runtime.usage(container_id)
                if usage is None:
                    continue
                seen.add(container_id)
                now = time.time()
                previous = self._previous.get(container_id)
                self._previous[container_id] = (now, usage.cpu_ns)
                if previous is None or now <= previous[0]:
                    continue
                nanocores = max(0, int((usage.cpu_ns - previous[1]) / (now - previous[0])))
                containers.append({"name": name, "usage": {"cpu": f"{nanocores}n",
                                                           "memory": f"{usage.memory_working_set // 1024}Ki"}})
                windows.append(now - previous[0])
                stamps.append(now)
            if containers and len(containers) == len(pod.containers):
                fresh[(pod.namespace, pod.name)] = {
                    "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": pod.labels,
                                 "creationTimestamp": _rfc3339(time.time())},
                    "timestamp": _rfc3339(min(stamps)), "window": f"{round(max(windows))}s",
                    "containers": containers,
                }
        self._previous = {k: v for k, v in self._previous.items() if k in seen}
        node = self._host_sample()
        with self._lock:
            self._pod_metrics = fresh
            if node is not None:
                self._node_metrics = node

    def _host_sample(self) -> Json | None:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
        busy_ticks = sum(int(v) for v in fields[:8]) - int(fields[3]) - int(fields[4])
        now = time.time()
        previous, self._host_previous = self._host_previous, (now, busy_ticks)
        if previous is None:
            return None
        nanocores = int((busy_ticks - previous[1]) * 10**7 / (now - previous[0]))  # 100 ticks per second
        meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo").read().splitlines() if ":" in line)
        used_kib = int(meminfo["MemTotal"].split()[0]) - int(meminfo["MemAvailable"].split()[0])
        return {"metadata": {"name": self.node, "creationTimestamp": _rfc3339(now)},
                "timestamp": _rfc3339(now), "window": f"{round(now - previous[0])}s",
                "usage": {"cpu": f"{max(0, nanocores)}n", "memory": f"{used_kib}Ki"}}

    # ---------------------------------------------------------------------------------- API views ---
    def pod_list(self, namespace: str | None, selector: str) -> Json:
        with self._lock:
            items = [dict(m, kind="PodMetrics", apiVersion=GROUP_VERSION) for (ns, _), m in self._pod_metrics.items()
                     if (namespace is None or ns == namespace) and matches(selector, m["metadata"]["labels"])]
        return {"kind": "PodMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}

    def pod(self, namespace: str, name: str) -> Json | None:
        with self._lock:
            found = self._pod_metrics.get((namespace, name))
        return dict(found, kind="PodMetrics", apiVersion=GROUP_VERSION) if found else None

    def node_list(self) -> Json:
        with self._lock:
            items = [dict(self._node_metrics, kind="NodeMetrics", apiVersion=GROUP_VERSION)] \
                if self._node_metrics else []
        return {"kind": "NodeMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}

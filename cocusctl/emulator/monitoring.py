"""What the local Prometheus sees of the emulator: target files for file-based discovery and the platform
metrics (instances and autoscaler bounds per revision) in the Prometheus text format.

The instance counts are what the emulator really runs: one container per revision while it serves, none
once it is scaled to zero. The bounds are the revision's `scaling` (Cloud Run's defaults: 0 and 100).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from cocusctl.core.observability import discovery

METRICS = {
    "cocus_emulator_revision_instances": "Running instances (containers) of a revision.",
    "cocus_emulator_revision_min_instances": "Minimum instances of a revision (scaling.minInstanceCount).",
    "cocus_emulator_revision_max_instances": "Maximum instances of a revision (scaling.maxInstanceCount).",
}
METRICS_PATH = "/emulator/v1/metrics"
DEFAULT_MAX_INSTANCES = 100


class Running(Protocol):
    port: int | None
    healthy: bool


def _labels(full: str) -> dict[str, str]:
    """projects/P/locations/L/services/S/revisions/R -> the scrape contract's labels."""
    parts = full.split("/")
    return {"namespace": parts[1], "service": parts[5], "revision": parts[7]}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(revisions: Mapping[str, Mapping[str, Any]], runtimes: Mapping[str, Running]) -> str:
    """The platform metrics of every revision, in the Prometheus text exposition format."""
    values: dict[str, list[tuple[dict[str, str], int]]] = {name: [] for name in METRICS}
    for full, rev in sorted(revisions.items()):
        labels = _labels(full)
        rt = runtimes.get(full)
        scaling = rev.get("scaling") or {}
        values["cocus_emulator_revision_instances"].append((labels, int(bool(rt and rt.healthy and rt.port))))
        values["cocus_emulator_revision_min_instances"].append((labels, int(scaling.get("minInstanceCount", 0))))
        values["cocus_emulator_revision_max_instances"].append(
            (labels, int(scaling.get("maxInstanceCount") or DEFAULT_MAX_INSTANCES)))
    lines = []
    for name, help_text in METRICS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for labels, value in values[name]:
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{text}}} {value}")
    return "\n".join(lines) + "\n"


def publish_targets(instance_id: str, api_base: str, runtimes: Mapping[str, Running]) -> None:
    """Write the emulator's two target files: its serving revisions, and its own metrics endpoint."""
    services = [{"targets": [f"127.0.0.1:{rt.port}"], "labels": {**_labels(full), "platform": "cloudrun-emulator"}}
                for full, rt in sorted(runtimes.items()) if rt.healthy and rt.port]
    discovery.write_targets(f"service-cloudrun-emulator-{instance_id}", services)
    if api_base:
        host = api_base.removeprefix("http://")
        platform = [{"targets": [host], "labels": {"platform": "cloudrun-emulator", "__metrics_path__": METRICS_PATH}}]
        discovery.write_targets(f"platform-cloudrun-emulator-{instance_id}", platform)


def withdraw_targets(instance_id: str) -> None:
    for kind in ("service", "platform"):
        discovery.remove_targets(f"{kind}-cloudrun-emulator-{instance_id}")

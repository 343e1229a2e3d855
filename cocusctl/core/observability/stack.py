"""The local monitoring stack: Prometheus (with the service's rules), Alertmanager and node-exporter, as
background processes on 127.0.0.1 owned by one home directory (configs, data, logs, PIDs).

Prometheus discovers its targets from the files the platforms write (`discovery`): every emulator revision,
and every pod the local cluster's node agent lists. Ports are free ones chosen at start and kept in
`<home>/monitoring.json`; `stop` signals only processes whose command line names this home.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cocusctl.core import daemons
from cocusctl.core.errors import NotAvailableError, OperationTimeout
from cocusctl.core.net import free_port
from cocusctl.core.observability import discovery
from cocusctl.core.observability.assets import RULES_PATH
from cocusctl.core.observability.slo import OBSERVABILITY_DIR

SCRAPE_INTERVAL = "5s"
RETENTION = "7d"  # covers the 3-day burn-rate window


@dataclass(frozen=True)
class Component:
    name: str
    binary: str
    ready_path: str
    apt_package: str


PROMETHEUS = Component("prometheus", "prometheus", "/-/ready", "prometheus")
ALERTMANAGER = Component("alertmanager", "prometheus-alertmanager", "/-/ready", "prometheus-alertmanager")
NODE_EXPORTER = Component("node-exporter", "prometheus-node-exporter", "/metrics", "prometheus-node-exporter")
COMPONENTS = (NODE_EXPORTER, ALERTMANAGER, PROMETHEUS)


class MonitoringResult(BaseModel):
    """What `cocusctl monitoring start|stop|status` report."""

    running: bool
    started: bool = False
    stopped: list[str] = []
    home: str
    targets_dir: str
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    node_exporter_url: str | None = None
    rules_file: str | None = None
    pids: dict[str, int] = {}
    targets_up: int | None = None
    targets_down: int | None = None
    alerts_firing: list[str] = []


def _is_ours(pid: int, home: Path) -> bool:
    return daemons.owned(pid, str(home))


def _get(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - 127.0.0.1 only
        body = resp.read()
    return json.loads(body) if body[:1] == b"{" else body


def _ready(url: str) -> bool:
    try:
        _get(url)
        return True
    except OSError:
        return False


def _argv(c: Component, home: Path, ports: dict[str, int]) -> list[str]:
    listen = f"--web.listen-address=127.0.0.1:{ports[c.name]}"
    if c is PROMETHEUS:
        return [c.binary, f"--config.file={home / 'prometheus.yml'}", f"--storage.tsdb.path={home / 'prometheus'}",
                f"--storage.tsdb.retention.time={RETENTION}", listen]
    if c is ALERTMANAGER:
        return [c.binary, f"--config.file={home / 'alertmanager.yml'}", f"--storage.path={home / 'alertmanager'}",
                "--cluster.listen-address=", listen]
    return [c.binary, f"--collector.textfile.directory={home / 'textfile'}", listen]


def prometheus_config(ports: dict[str, int], targets: Path, rules_file: Path) -> dict[str, Any]:
    local = "127.0.0.1"
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(rules_file)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"{local}:{ports['alertmanager']}"]}]}]},
        "scrape_configs": [
            {"job_name": "cocus-rag", "file_sd_configs": [
                {"files": [str(targets / discovery.SERVICE_FILES)], "refresh_interval": SCRAPE_INTERVAL}]},
            {"job_name": "cocus-platform", "file_sd_configs": [
                {"files": [str(targets / discovery.PLATFORM_FILES)], "refresh_interval": SCRAPE_INTERVAL}]},
            {"job_name": "node", "static_configs": [{"targets": [f"{local}:{ports['node-exporter']}"]}]},
            {"job_name": "prometheus", "static_configs": [{"targets": [f"{local}:{ports['prometheus']}"]}]},
        ],
    }


ALERTMANAGER_CONFIG = {
    # No notifier is reachable from a workstation: alerts are grouped and shown (UI, API, `monitoring status`).
    "route": {"receiver": "local", "group_by": ["alertname", "namespace", "service", "severity"],
              "group_wait": "10s", "group_interval": "1m", "repeat_interval": "4h"},
    "receivers": [{"name": "local"}],
}


def _info_file(home: Path) -> Path:
    return home / "monitoring.json"


def _running(home: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(_info_file(home).read_text())
    except (OSError, ValueError):
        return None
    alive = all(_is_ours(pid, home) for pid in info["pids"].values())
    return info if alive and len(info["pids"]) == len(COMPONENTS) else None


def _result(home: Path, info: dict[str, Any], **extra: Any) -> MonitoringResult:
    ports = info["ports"]
    return MonitoringResult(
        running=True, home=str(home), targets_dir=str(discovery.targets_dir(home)),
        prometheus_url=f"http://127.0.0.1:{ports['prometheus']}",
        alertmanager_url=f"http://127.0.0.1:{ports['alertmanager']}",
        node_exporter_url=f"http://127.0.0.1:{ports['node-exporter']}", rules_file=info["rules_file"],
        pids=info["pids"], **extra)


def where(home: Path | None = None) -> dict[str, str] | None:
    """Prometheus' and Alertmanager's URLs when the stack of this home runs (no query: cheap for `status`)."""
    home = (home or discovery.default_home()).resolve()
    info = _running(home)
    if info is None:
        return None
    result = _result(home, info)
    return {"prometheus": str(result.prometheus_url), "alertmanager": str(result.alertmanager_url)}


def status(home: Path | None = None) -> MonitoringResult | None:
    """The running stack with its targets and firing alerts, or None."""
    home = (home or discovery.default_home()).resolve()
    info = _running(home)
    if info is None:
        return None
    result = _result(home, info)
    try:
        targets = _get(f"{result.prometheus_url}/api/v1/targets?state=active")["data"]["activeTargets"]
        alerts = _get(f"{result.prometheus_url}/api/v1/alerts")["data"]["alerts"]
    except (OSError, KeyError, ValueError):
        return result
    result.targets_up = sum(1 for t in targets if t["health"] == "up")
    result.targets_down = len(targets) - result.targets_up
    result.alerts_firing = sorted({
        f"{a['labels']['alertname']} ({a['labels'].get('severity', '?')}): "
        + ", ".join(f"{k}={a['labels'][k]}" for k in ("namespace", "service", "revision") if k in a["labels"])
        for a in alerts if a["state"] == "firing"})
    return result


def start(home: Path | None = None, *, rules_file: Path | None = None, timeout: float = 60.0) -> MonitoringResult:
    """Start node-exporter, Alertmanager and Prometheus (idempotent); returns once all three answer."""
    import yaml

    home = (home or discovery.default_home()).resolve()
    running = status(home)
    if running is not None:
        return running
    missing = [c for c in COMPONENTS if shutil.which(c.binary) is None]
    if missing:
        raise NotAvailableError(f"{', '.join(c.binary for c in missing)} not found",
                                hint="install them: apt-get install " + " ".join(c.apt_package for c in missing)
                                + " (or `scripts/local-stack.sh up`)")
    rules = (rules_file or OBSERVABILITY_DIR / RULES_PATH).resolve()
    targets = discovery.targets_dir(home)
    for sub in ("prometheus", "alertmanager", "textfile"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    targets.mkdir(parents=True, exist_ok=True)
    ports = {c.name: free_port() for c in COMPONENTS}
    (home / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(ports, targets, rules), sort_keys=False))
    (home / "alertmanager.yml").write_text(yaml.safe_dump(ALERTMANAGER_CONFIG, sort_keys=False))
    pids: dict[str, int] = {}
    try:
        for c in COMPONENTS:
            with open(home / f"{c.name}.log", "ab") as log:
                proc = subprocess.Popen(_argv(c, home, ports), stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            pids[c.name] = proc.pid
            _wait_ready(c, proc, home, f"http://127.0.0.1:{ports[c.name]}{c.ready_path}", timeout)
    except BaseException:
        _stop_pids(home, pids)
        raise
    info = {"ports": ports, "pids": pids, "rules_file": str(rules)}
    _info_file(home).write_text(json.dumps(info))
    return _result(home, info, started=True)


def _wait_ready(c: Component, proc: subprocess.Popen[bytes], home: Path, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (home / f"{c.name}.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise NotAvailableError(f"{c.binary} exited during start: {tail[-1] if tail else 'no output'}",
                                    details="\n".join(tail))
        if _ready(url):
            return
        time.sleep(0.2)
    raise OperationTimeout(f"{c.binary} did not answer within {timeout:.0f}s (log: {home / f'{c.name}.log'})")


def _stop_pids(home: Path, pids: dict[str, int]) -> list[str]:
    stopped = daemons.terminate(list(pids.values()), str(home), timeout=20.0)
    return [name for name, pid in pids.items() if pid in stopped]


def stop(home: Path | None = None) -> MonitoringResult:
    """Stop what `start` started from this home (and nothing else)."""
    home = (home or discovery.default_home()).resolve()
    try:
        info = json.loads(_info_file(home).read_text())
    except (OSError, ValueError):
        info = {"pids": {}}
    stopped = _stop_pids(home, info["pids"])
    _info_file(home).unlink(missing_ok=True)
    return MonitoringResult(running=False, stopped=stopped, home=str(home),
                            targets_dir=str(discovery.targets_dir(home)))

"""File-based service discovery for the local Prometheus: platforms write target files, Prometheus reads them.

`cocusctl monitoring start` scrapes `<home>/targets/service-*.json` as the service's job (`cocus-rag`) and
`platform-*.json` as `cocus-platform` (the platforms' own metrics). The Cloud Run emulator writes one file
of each while it runs; the local Kubernetes cluster's node agent writes its own the same way. Every
service target carries `namespace`, `service` and `revision` (observability/README.md, "scrape contract").
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV_HOME = "COCUS_MONITORING_HOME"
SERVICE_FILES = "service-*.json"
PLATFORM_FILES = "platform-*.json"


def default_home() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".cache" / "cocusctl" / "monitoring").expanduser()


def targets_dir(home: Path | None = None) -> Path:
    return (home or default_home()) / "targets"


def write_targets(name: str, groups: list[dict[str, Any]], directory: Path | None = None) -> Path:
    """Write `<directory>/<name>.json` atomically (Prometheus re-reads it on change); `name` starts with
    `service-` or `platform-`."""
    directory = directory or targets_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups, indent=1, sort_keys=True))
    tmp.replace(path)
    return path


def remove_targets(name: str, directory: Path | None = None) -> None:
    ((directory or targets_dir()) / f"{name}.json").unlink(missing_ok=True)

"""The emulator's state on disk: services, revisions, operations and the router ports.

One JSON file written atomically after every mutation, so a restarted emulator brings back services,
revisions and traffic exactly as they were (containers are started again on restore).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]
STATE_VERSION = 1
MAX_OPERATIONS = 500


@dataclass
class State:
    services: dict[str, Json] = field(default_factory=dict)  # full service name -> Service
    revisions: dict[str, Json] = field(default_factory=dict)  # full revision name -> Revision
    operations: dict[str, Json] = field(default_factory=dict)  # full operation name -> Operation
    ports: dict[str, int] = field(default_factory=dict)  # service full name [+ "#TAG"] -> router port


class Store:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / "state.json"
        self.state = State()

    def load(self) -> State:
        if self.path.exists():
            raw = json.loads(self.path.read_text())
            self.state = State(
                services=raw.get("services", {}),
                revisions=raw.get("revisions", {}),
                operations=raw.get("operations", {}),
                ports={k: int(v) for k, v in raw.get("ports", {}).items()},
            )
        return self.state

    def save(self) -> None:
        ops = self.state.operations
        if len(ops) > MAX_OPERATIONS:
            done = [k for k, v in ops.items() if v.get("done")]
            for k in done[: len(ops) - MAX_OPERATIONS]:
                del ops[k]
        data = {
            "version": STATE_VERSION,
            "services": self.state.services,
            "revisions": self.state.revisions,
            "operations": self.state.operations,
            "ports": self.state.ports,
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

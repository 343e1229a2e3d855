"""The agent's settings, written as JSON by `cocusctl cluster start` (`core/cluster/control_plane.py`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AgentConfig:
    home: Path
    node: str
    kubeconfig: Path
    port: int
    pod_cidr: str
    state_dir: Path
    serving_cert: Path
    serving_key: Path
    client_ca: tuple[Path, ...]
    ca: Path
    api_port: int

    @property
    def cluster_id(self) -> str:
        """Labels every container this cluster starts, so the agent only ever touches its own."""
        return hashlib.sha256(str(self.home).encode()).hexdigest()[:12]

    @classmethod
    def load(cls, path: Path) -> AgentConfig:
        data = json.loads(path.read_text())
        return cls(
            home=Path(data["home"]), node=data["node"], kubeconfig=Path(data["kubeconfig"]), port=int(data["port"]),
            pod_cidr=data["pod_cidr"], state_dir=Path(data["state_dir"]), serving_cert=Path(data["serving_cert"]),
            serving_key=Path(data["serving_key"]), client_ca=tuple(Path(p) for p in data["client_ca"]),
            ca=Path(data["ca"]), api_port=int(data["api_port"]),
        )

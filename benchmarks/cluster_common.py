"""Shared by the benchmarks on the local Kubernetes cluster: a fresh cluster in a temporary home, and phases
that save the results as each one finishes (a long run keeps what it measured when a later phase fails)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cocusctl.core.cluster.control_plane import ClusterState


@contextmanager
def local_cluster(home: Path) -> Iterator[ClusterState]:
    """A real control plane and node agent on their own ports and loopback pod network; deleted afterwards."""
    from cocusctl.core.cluster import control_plane

    state = control_plane.start(home, pod_cidr=f"127.{random.randint(100, 250)}.0.0/16", timeout=300)
    try:
        yield state
    finally:
        control_plane.delete(home)


def save(out: dict[str, Any], result: Path) -> None:
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(json.dumps(out, indent=2) + "\n")


def run_phases(phases: Sequence[Callable[[], None]], out: dict[str, Any], result: Path) -> None:
    for phase in phases:
        phase()
        save(out, result)
        print(json.dumps(out, indent=2), flush=True)
    out["load_average_at_end"] = round(os.getloadavg()[0], 1)
    save(out, result)

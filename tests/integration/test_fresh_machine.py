"""The README's set-up on a machine that has none of the tools it installs.

CI runs on a machine where everything is already installed, so a missing install step stays hidden there.
`scripts/fresh-machine.sh` makes a fresh machine instead (the bare bookworm base image's file system as the
root of private mount and PID namespaces, with this checkout copied in). In it, `scripts/local-stack.sh up`
must install and start every tool (Docker engine, registry, debootstrap + base image, Trivy, Helm, …), a
second `up` must find everything ready, `scripts/install.sh` must make `.venv`, `cocusctl doctor` must pass,
and `docker exec` must enter its container (under a mere chroot it entered the host's file system, and the
Molecule, act and image tests failed there).
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from cocusctl.core.net import free_port
from tests.conftest import REPO_ROOT, need

FRESH_MACHINE = REPO_ROOT / "scripts" / "fresh-machine.sh"
TOOLS = "git docker dockerd docker-registry debootstrap trivy helm redis-server promtool ssh"
SETUP = f"""
set -e
echo "== tools before"
for t in {TOOLS}; do command -v $t || true; done
echo "== up 1"
bash scripts/local-stack.sh up
echo "== up 2"
bash scripts/local-stack.sh up
echo "== install"
bash scripts/install.sh
echo "== doctor"
.venv/bin/cocusctl doctor --env local
echo "== exec"
cid=$(docker run -d --network host --workdir /exec-probe cocus/python-base:3.11-bookworm sleep 120)
docker exec "$cid" pwd
docker rm -f "$cid" >/dev/null
echo "== down"
bash scripts/local-stack.sh down
"""


def section(log: str, name: str) -> str:
    match = re.search(rf"^== {re.escape(name)}\n(.*?)(?=^== |\Z)", log, re.S | re.M)
    assert match, f"section {name!r} missing from:\n{log[-4000:]}"
    return match.group(1)


def step_rows(output: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\S+) +(ok|done|warn|skip|FAIL) ", output, re.M)}


@pytest.mark.docker
@pytest.mark.slow
def test_setup_installs_every_tool_on_a_machine_without_them(docker_engine, base_image) -> None:
    need(os.geteuid() == 0, "needs root: it mounts /proc, /sys and /dev into a fresh root")
    # The fresh root shares the host's network: its registry must not take the shared one's port.
    env = {**os.environ, "COCUS_BASE_IMAGE": base_image, "COCUS_FRESH_ENV": f"COCUS_REGISTRY_PORT={free_port()}"}
    # Building Kubernetes takes 10-25 minutes on two cores: the fresh machine gets this machine's cached build
    # (made by the same step in this run's own `local-stack.sh up`), and its step must find it ready.
    from cocusctl.core.cluster import build

    kubernetes = build.cached()
    assert kubernetes is not None, "this machine's `local-stack.sh up` builds Kubernetes before the tests run"
    env["COCUS_FRESH_ENV"] += f" COCUS_CLUSTER_CACHE={kubernetes.bin_dir.parent.parent}"
    env["COCUS_FRESH_COPY"] = str(kubernetes.bin_dir.parent)
    proc = subprocess.run(
        [str(FRESH_MACHINE), "bash", "-c", SETUP], env=env, capture_output=True, text=True, timeout=2400
    )
    log = proc.stdout + proc.stderr

    assert proc.returncode == 0, log[-6000:]
    assert section(proc.stdout, "tools before").strip() == "", "the fresh machine must start without the tools"
    first = step_rows(section(proc.stdout, "up 1"))
    for step in ("dockerd", "registry", "base-image", "trivy", "helm", "packages", "prometheus", "ansible"):
        assert first.get(step) == "done", (step, section(proc.stdout, "up 1"))
    assert first.get("terraform") == "ok"
    assert first.get("kubernetes") == "ok", section(proc.stdout, "up 1")
    second = step_rows(section(proc.stdout, "up 2"))
    assert second and set(second.values()) == {"ok"}, section(proc.stdout, "up 2")
    assert "→ done" in section(proc.stdout, "install")
    assert "FAIL" not in section(proc.stdout, "doctor")
    assert section(proc.stdout, "exec").strip() == "/exec-probe"


def test_fresh_machine_refuses_to_run_nothing() -> None:
    proc = subprocess.run([str(FRESH_MACHINE)], capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "usage: fresh-machine.sh COMMAND [ARG…]\n"

"""The README's set-up on a machine that has none of the tools it installs.

CI runs on a machine where everything is already installed, so a missing install step stays hidden there.
This test makes a fresh machine instead: the local bookworm base image's file system (Debian minbase +
python3, nothing else) as a chroot in private mount and PID namespaces, with the repository copied in and
only what this kind of machine has from the start added (the terraform binary, the network's CA trusted). In it, `scripts/local-stack.sh up` must install and start
every tool (Docker engine, registry, debootstrap + base image, Trivy, …), a second `up` must find
everything ready, `scripts/install.sh` must make `.venv`, and `cocusctl doctor` must pass.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import need

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
# The fresh root shares the host's network (test traffic stays on loopback): its own registry must not take
# the shared one's port.
INNER_SCRIPT = r"""
set -euo pipefail
mkdir -p /repo && tar -C /repo -xf /in/repo.tar && cd /repo
echo "== tools before"
for t in docker dockerd docker-registry debootstrap trivy redis-server; do command -v $t || true; done
echo "== up 1"
bash scripts/local-stack.sh up
echo "== up 2"
bash scripts/local-stack.sh up
echo "== install"
bash scripts/install.sh
echo "== doctor"
.venv/bin/cocusctl doctor --env local
echo "== down"
bash scripts/local-stack.sh down
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def repository_tarball(destination: Path) -> Path:
    """The tracked files as they are in the working tree (what a fresh clone of this change holds)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    tarball = destination / "repo.tar"
    with tarfile.open(tarball, "w") as tar:
        for name in filter(None, files):
            path = REPO_ROOT / name
            if path.exists() or path.is_symlink():
                tar.add(path, arcname=name, recursive=False)
    return tarball


def section(log: str, name: str) -> str:
    match = re.search(rf"^== {re.escape(name)}\n(.*?)(?=^== |\Z)", log, re.S | re.M)
    assert match, f"section {name!r} missing from:\n{log[-4000:]}"
    return match.group(1)


def step_rows(output: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\S+) +(ok|done|warn|skip|FAIL) ", output, re.M)}


def fresh_root(docker_engine, base_image: str, destination: Path) -> Path:
    """The base image's file system, unpacked: a bookworm machine with nothing installed beyond minbase."""
    root = destination / "root"
    root.mkdir()
    container = docker_engine.containers.create(base_image, ["true"])
    try:
        export = destination / "rootfs.tar"
        with export.open("wb") as out:
            for chunk in container.export():
                out.write(chunk)
    finally:
        container.remove(force=True)
    subprocess.run(["tar", "-C", str(root), "-xf", str(export)], check=True)
    export.unlink()
    return root


@pytest.mark.docker
@pytest.mark.slow
def test_setup_installs_every_tool_on_a_machine_without_them(docker_engine, base_image, tmp_path: Path) -> None:
    """A chroot of the bare base image in its own mount and PID namespaces (containers cannot be privileged
    here, so a Docker engine cannot run inside one): a fresh file system with the host's kernel and network."""
    need(os.geteuid() == 0, "needs root: it mounts /proc, /sys and /dev into a fresh root")
    terraform = shutil.which("terraform")
    assert terraform, "this kind of machine has terraform on PATH from the start"
    root = fresh_root(docker_engine, base_image, tmp_path)
    inbox = root / "in"
    inbox.mkdir()
    repository_tarball(inbox)
    (inbox / "setup.sh").write_text(INNER_SCRIPT)
    shutil.copy2(Path(terraform).resolve(), root / "usr/local/bin/terraform")
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    # This kind of machine trusts its network's CA from the start: the local CAs (kept by Debian's
    # ca-certificates when it rebuilds the bundle), the bundle itself, and pip told to use it.
    local_cas = root / "usr/local/share/ca-certificates"
    local_cas.mkdir(parents=True, exist_ok=True)
    for ca in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy2(ca, local_cas / ca.name)
    (root / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
    shutil.copy2(HOST_CA, root / "etc/ssl/certs/ca-certificates.crt")
    (root / "etc/pip.conf").write_text(f"[global]\ncert = {HOST_CA}\n")
    enter = f"""
set -e
mount --make-rprivate /
mount --bind {root} {root}   # the fresh root must be a mount point (dockerd remounts / in its chroots)
mount --rbind /dev {root}/dev
mount --rbind /sys {root}/sys
mount -t proc proc {root}/proc
mount -t tmpfs tmpfs {root}/run
exec chroot {root} /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 COCUS_REGISTRY_PORT={free_port()} bash /in/setup.sh
"""
    try:
        proc = subprocess.run(
            ["unshare", "--mount", "--pid", "--fork", "--kill-child", "bash", "-c", enter],
            capture_output=True, text=True, timeout=1800,
        )
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)
    log = proc.stdout + proc.stderr

    assert proc.returncode == 0, log[-6000:]
    assert section(proc.stdout, "tools before").strip() == "", "the fresh machine must start without the tools"
    first = step_rows(section(proc.stdout, "up 1"))
    for step in ("dockerd", "registry", "base-image", "trivy", "packages"):
        assert first.get(step) == "done", (step, section(proc.stdout, "up 1"))
    assert first.get("terraform") == "ok"
    second = step_rows(section(proc.stdout, "up 2"))
    assert second and set(second.values()) == {"ok"}, section(proc.stdout, "up 2")
    assert "→ done" in section(proc.stdout, "install")
    assert "FAIL" not in section(proc.stdout, "doctor")

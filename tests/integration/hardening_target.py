"""A bookworm server in a container for the Ansible roles, driven through their Molecule scenario.

Shared by tests/integration/test_harden.py and benchmarks/lynis_hardening.py: the target image (built from
the local base image), an SSH key of the test's own, and `molecule` with the environment its scenario reads.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "ansible"
TARGET_DOCKERFILE = ANSIBLE_DIR / "molecule" / "target.Dockerfile"
TARGET_IMAGE = "cocus-test/hardening-target:bookworm"


def build_target_image(client, base_image: str) -> str:
    """Build (or reuse from the layer cache) the scenario's target image; apt reaches Debian's mirror."""
    client.images.build(
        path=str(TARGET_DOCKERFILE.parent), dockerfile=TARGET_DOCKERFILE.name, tag=TARGET_IMAGE,
        buildargs={"BASE_IMAGE": base_image}, network_mode="host", rm=True,
    )
    return TARGET_IMAGE


@dataclass(frozen=True)
class Scenario:
    """One run of a scenario (ansible/molecule/NAME): its own instance name, SSH key and ephemeral folder."""

    instance: str
    workdir: Path
    image: str = TARGET_IMAGE
    name: str = "default"
    extra_env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def create(
        cls, workdir: Path, image: str = TARGET_IMAGE, name: str = "default", **extra_env: str
    ) -> Scenario:
        workdir.mkdir(parents=True, exist_ok=True)
        key = workdir / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cocus-test", "-f", str(key)],
                       check=True, timeout=30)
        return cls(instance=f"cocus-{name}-{secrets.token_hex(4)}", workdir=workdir, image=image, name=name,
                   extra_env=tuple(sorted(extra_env.items())))

    @property
    def inventory(self) -> Path:
        """The inventory Molecule writes for the instance (SSH as admin through the ProxyCommand)."""
        return self.workdir / "ephemeral" / "inventory"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "COCUS_MOLECULE_INSTANCE": self.instance,
            "COCUS_MOLECULE_IMAGE": self.image,
            "COCUS_MOLECULE_SSH_KEY": str(self.workdir / "id_ed25519"),
            "MOLECULE_EPHEMERAL_DIRECTORY": str(self.workdir / "ephemeral"),
            "ANSIBLE_NOCOLOR": "1",
            "NO_COLOR": "1",
            "PY_COLORS": "0",
            **dict(self.extra_env),
        }

    def molecule(self, command: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "molecule", "--base-config", "molecule/base.yml", command,
             "--scenario-name", self.name], cwd=ANSIBLE_DIR, env=self.env(),
            capture_output=True, text=True, timeout=timeout,
        )

    def exec(self, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run a command as root inside the instance (docker exec, not SSH)."""
        return subprocess.run(["docker", "exec", self.instance, *argv], capture_output=True, text=True,
                              timeout=timeout)

    def lynis_hardening_index(self) -> int:
        """Run a Lynis audit inside the instance and return its hardening index (0-100)."""
        audit = self.exec("lynis", "audit", "system", "--quick", "--no-colors")
        if audit.returncode != 0:
            raise RuntimeError(f"lynis failed (exit {audit.returncode}): {audit.stderr[-500:]}")
        report = self.exec("cat", "/var/log/lynis-report.dat").stdout
        for line in report.splitlines():
            if line.startswith("hardening_index="):
                return int(line.split("=", 1)[1])
        raise RuntimeError("lynis wrote no hardening_index")

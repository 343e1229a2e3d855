"""The README's main job, `bash scripts/demo.sh`, end to end, twice — as a user runs it in their checkout.

The script is what a new user runs first, and each of its steps is a promise the README makes: build, scan
and push by digest, deploy to the emulator, a real answer, a canary, promote, then the GKE target on the
local cluster with its own canary. It runs in a clone of this checkout (working-tree changes committed
there, so the build is reproducible as in a user's clean checkout) against this machine's set-up, with its
own emulator, cluster and secret store (homes under the test's temporary folder, a free emulator port, a
loopback pod network of its own), so it never meets a developer's own demo. The second run is the README's
"safe to run again": it must pass and create no revision in any environment.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from cocusctl.core.net import free_port
from tests.conftest import REPO_ROOT, need

ENVIRONMENTS = ("local-staging", "local-prod", "local-gke")
RUN_TIMEOUT_S = 1800  # the first run builds the service image when the layer cache lacks it


def clone_checkout(dest: Path) -> Path:
    """A clone of this checkout with its working-tree changes committed, and the checkout's `.venv`."""
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(dest)], check=True, timeout=120)

    def listed(*flags: str) -> list[str]:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", *flags], check=True,
                             capture_output=True, text=True).stdout
        return [p for p in out.split("\0") if p]

    deleted = set(listed("--deleted"))
    for rel in set(listed("--modified", "--others", "--exclude-standard")) - deleted:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, dest / rel)
    for rel in deleted:
        (dest / rel).unlink(missing_ok=True)
    identity = ["-c", "user.name=cocusctl tests", "-c", "user.email=tests@cocus.invalid"]
    subprocess.run(["git", "-C", str(dest), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(dest), *identity, "commit", "-q", "--allow-empty", "-m", "working tree"],
                   check=True)
    # install.sh finds this venv up to date (its stamp hashes the same inputs) instead of making another.
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")
    return dest


@pytest.mark.docker
@pytest.mark.registry
@pytest.mark.trivy
@pytest.mark.helm
@pytest.mark.kubernetes
@pytest.mark.slow
@pytest.mark.timeout(2 * RUN_TIMEOUT_S + 600)
def test_readme_main_job_runs_end_to_end_and_again(
        tmp_path, docker_engine, local_registry, base_image, trivy_bin, helm_bin) -> None:
    from cocusctl.core.cluster import build

    need(build.cached() is not None, "Kubernetes binaries not built; run scripts/local-stack.sh up")
    need((REPO_ROOT / ".venv" / "bin" / "cocusctl").exists(), "no .venv; run scripts/install.sh")
    repo = clone_checkout(tmp_path / "checkout")
    env = {
        **os.environ,
        "COCUS_EMULATOR_HOME": str(tmp_path / "emulator"),
        "COCUS_EMULATOR_PORT": str(free_port()),
        "COCUS_CLUSTER_HOME": str(tmp_path / "cluster"),
        "COCUS_CLUSTER_POD_CIDR": f"127.{random.randint(30, 99)}.0.0/16",
        "COCUS_SECRETS_FILE": str(tmp_path / "secrets" / "local-secrets.json"),
        "NO_COLOR": "1",
    }
    cocusctl = str(REPO_ROOT / ".venv" / "bin" / "cocusctl")

    def demo() -> str:
        proc = subprocess.run(["bash", "scripts/demo.sh"], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-6000:]
        return output

    def revisions() -> dict[str, list[str]]:
        out = {}
        for environment in ENVIRONMENTS:
            proc = subprocess.run([cocusctl, "status", "--env", environment, "--output", "json"], cwd=repo,
                                  env=env, capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            out[environment] = sorted(r["name"] for r in json.loads(proc.stdout)["data"]["revisions"])
        return out

    try:
        first = demo()
        for promise in ("pushed", "quality gate passed", "promoted sha256:", "cocus-rag (local-gke): deployed",
                        "Q: How do I create a virtual environment?", "library/venv.html", "index / model"):
            assert promise in first, (promise, first[-6000:])
        key = (repo / "build" / "demo-api-key").read_text().strip()
        assert key not in first, "the demo's API key must never be printed"
        after_first = revisions()
        assert all(after_first.values()), after_first

        second = demo()
        assert key not in second
        assert revisions() == after_first, "a second run must create no revision"
    finally:
        subprocess.run([cocusctl, "emulator", "stop"], cwd=repo, env=env, capture_output=True, timeout=120)
        subprocess.run([cocusctl, "cluster", "delete"], cwd=repo, env=env, capture_output=True, timeout=300)

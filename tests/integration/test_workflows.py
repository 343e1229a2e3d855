"""The workflows, checked by real tools: GitHub's workflow schema (check-jsonschema, vendored schema),
actionlint, and zizmor (offline) with no finding at all — for the repository's own workflows and for a
user's rendered from another cocus.yaml. Each check is also shown to fail on a broken copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cocusctl.core.config import load_config
from cocusctl.core.workflows import write_workflows
from tests.conftest import need

REPO = Path(__file__).resolve().parents[2]
USER_CONFIG = REPO / "tests" / "fixtures" / "config" / "ci-user.yaml"


def tool(name: str) -> str:
    """The tool from the dev extra (installed beside this interpreter), else from PATH."""
    beside = Path(sys.executable).parent / name
    path = str(beside) if beside.is_file() else shutil.which(name)
    need(path is not None, f"'{name}' not found; `bash scripts/install.sh` installs the dev extra")
    assert path is not None
    return path


def run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def schema(*files: Path) -> subprocess.CompletedProcess[str]:
    return run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, files)])


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return run([tool("actionlint"), "-no-color", *map(str, files)])


def zizmor(folder: Path) -> list[dict]:
    proc = run([tool("zizmor"), "--offline", "--persona", "pedantic", "--format", "json", "--no-progress", str(folder)])
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def user_workflows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("user-repo")
    shutil.copy(USER_CONFIG, root / "cocus.yaml")
    write_workflows(load_config(root / "cocus.yaml", environ={}))
    return root / ".github" / "workflows"


@pytest.fixture(params=["repository", "user"])
def workflows(request: pytest.FixtureRequest, user_workflows: Path) -> Path:
    return REPO / ".github" / "workflows" if request.param == "repository" else user_workflows


def test_schema_actionlint_and_zizmor_are_clean(workflows: Path) -> None:
    files = sorted(workflows.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "release.yml"]
    checked = schema(*files)
    assert checked.returncode == 0 and "ok -- validation done" in checked.stdout, checked.stdout + checked.stderr
    linted = actionlint(*files)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    findings = zizmor(workflows)
    assert findings == [], [(f["ident"], f["determinations"]["severity"]) for f in findings]


def test_the_checks_fail_on_broken_workflows(tmp_path: Path) -> None:
    release = (REPO / ".github" / "workflows" / "release.yml").read_text()
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)

    bad_schema = folder / "schema.yml"
    bad_schema.write_text(release.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1))
    assert schema(bad_schema).returncode != 0

    bad_expression = folder / "expr.yml"
    bad_expression.write_text(release.replace("needs.build.outputs.image", "needs.biuld.outputs.image", 1))
    linted = actionlint(bad_expression)
    assert linted.returncode != 0 and "biuld" in linted.stdout

    bad_schema.unlink()
    bad_expression.unlink()
    unsafe = release.replace(
        "uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1", "uses: actions/checkout@v7", 1
    ).replace('--image "$IMAGE" --yes', "--image ${{ needs.build.outputs.image }} --yes", 1)
    (folder / "release.yml").write_text(unsafe)
    idents = {f["ident"] for f in zizmor(folder)}
    assert {"unpinned-uses", "template-injection"} <= idents, idents

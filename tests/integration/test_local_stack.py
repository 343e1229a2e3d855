"""scripts/local-stack.sh against the real Docker engine and real registries on this machine.

The shared engine and registry are treated as started by someone else: the script must check them, start
nothing beside them and never stop them. The start/stop path runs a registry of its own on a spare port
with a private state dir.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cocusctl.core.net import free_port
from tests.conftest import need

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "local-stack.sh"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def stack(command: str, state_dir: Path, port: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COCUS_STACK_DIR": str(state_dir)}
    env.pop("COCUS_REGISTRY_PORT", None)
    if port is not None:
        env["COCUS_REGISTRY_PORT"] = str(port)
    return subprocess.run([str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=300)


def port_of(registry: str) -> int:
    return int(registry.rsplit(":", 1)[1])


def processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def dockerd_pids() -> set[int]:
    pids = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "dockerd":
                pids.add(int(comm.parent.name))
        except OSError:
            continue
    return pids


def listen_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses (hex, as the kernel prints them) listening on PORT."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def http(method: str, url: str, data: bytes | None = None) -> tuple[int, dict[str, str]]:
    headers = {"Content-Type": "application/octet-stream"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with NO_PROXY.open(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def line(output: str, step: str) -> str:
    (found,) = [row for row in output.splitlines() if row.startswith(f"{step} ")]
    return found


@pytest.fixture
def registry_program() -> str:
    path = shutil.which("docker-registry")
    need(path is not None, "Debian's docker-registry is not installed; run scripts/local-stack.sh up")
    assert path is not None
    return path


def test_bad_argument_prints_usage_and_changes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    for argv in (["sideways"], [], ["up", "extra"]):
        result = subprocess.run(
            [str(SCRIPT), *argv],
            env={**os.environ, "COCUS_STACK_DIR": str(state)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, argv
        assert result.stdout == ""
        assert result.stderr == "usage: local-stack.sh up|down|status\n"
    assert not state.exists()


def test_a_failing_command_names_its_step_and_the_command(tmp_path: Path) -> None:
    """No silent exit: a command that fails outside a check ends the run with the step and the command."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = subprocess.run(
        [str(SCRIPT), "up"],
        env={**os.environ, "COCUS_STACK_DIR": str(blocker / "state")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert re.fullmatch(
        r"mkdir: cannot create directory .*: Not a directory\n"
        r"local-stack: error: step setup failed: `mkdir -p \"\$STACK_DIR\"` exited 1 \(local-stack\.sh:\d+\)\n",
        result.stderr,
    ), result.stderr


def test_a_missing_program_that_cannot_be_installed_is_named(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sed", "head", "dirname", "flock", "mkdir", "id", "python3", "date"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        ["bash", str(SCRIPT), "up"],
        env={"PATH": str(bin_dir), "COCUS_STACK_DIR": str(tmp_path / "state"), "COCUS_STACK_STEPS": "terraform"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("local-stack: error: terraform: terraform not found on PATH; install Terraform")


def test_an_unknown_step_name_is_refused_before_anything_runs(tmp_path: Path) -> None:
    env = {**os.environ, "COCUS_STACK_DIR": str(tmp_path / "state"), "COCUS_STACK_STEPS": "packages,ansible"}
    result = subprocess.run(["bash", str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=30)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "local-stack: error: setup: COCUS_STACK_STEPS: unknown step 'packages,ansible' (steps: dockerd registry"
    ), result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "state").exists()


@pytest.mark.docker
@pytest.mark.registry
@pytest.mark.trivy
def test_status_reports_shared_daemons_as_not_ours(
    docker_engine, local_registry: str, base_image: str, trivy_bin: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    result = stack("status", state, port_of(local_registry))

    assert result.returncode == 0, result.stdout + result.stderr
    server = docker_engine.version()["Version"]
    assert re.fullmatch(
        rf"dockerd +ok +running, server {re.escape(server)}, not started by this script \[\d+\.\ds\]",
        line(result.stdout, "dockerd"),
    )
    assert f"http://{local_registry} answers, not started by this script" in line(result.stdout, "registry")
    assert docker_engine.images.get(base_image).id in line(result.stdout, "base-image")
    assert " ok " in line(result.stdout, "trivy")
    assert not state.exists(), "status must not create or change anything"


@pytest.mark.docker
def test_status_fails_and_names_a_missing_registry(docker_engine, tmp_path: Path) -> None:
    port = free_port()
    result = stack("status", tmp_path / "state", port)

    assert result.returncode == 1
    assert re.match(
        rf"registry +FAIL no open v2 registry at http://127\.0\.0\.1:{port} \(none\)",
        line(result.stdout, "registry"),
    )


@pytest.mark.docker
@pytest.mark.registry
@pytest.mark.trivy
def test_up_twice_on_a_ready_machine_starts_nothing(
    docker_engine, local_registry: str, base_image: str, trivy_bin: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    dockerd_before = dockerd_pids()
    image_id = docker_engine.images.get(base_image).id

    for attempt in (1, 2):
        result = stack("up", state, port_of(local_registry))
        assert result.returncode == 0, f"attempt {attempt}: {result.stdout}{result.stderr}"
        assert "running, not started by this script (left alone)" in line(result.stdout, "dockerd")
        assert "answers, not started by this script (left alone)" in line(result.stdout, "registry")
        assert re.match(
            r"base-image +ok +\S+ present, \d+ days old, 0 pending updates \(.*CA ok\)", line(result.stdout, "base-image")
        )
        assert re.search(rf"^  base image {re.escape(base_image)} {image_id}$", result.stdout, re.M)
        assert re.search(rf"^  registry   http://{re.escape(local_registry)}$", result.stdout, re.M)
        assert " done " not in result.stdout, "nothing may be installed, started or built"

    assert processes_mentioning(str(state)) == []
    assert sorted(p.name for p in state.rglob("*pid")) == []
    assert dockerd_pids() == dockerd_before
    assert docker_engine.images.get(base_image).id == image_id


@pytest.mark.docker
@pytest.mark.registry
@pytest.mark.trivy
def test_up_and_down_own_registry_leave_shared_one_running(
    docker_engine,
    local_registry: str,
    base_image: str,
    trivy_bin: str,
    registry_program: str,
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    dockerd_before = dockerd_pids()
    try:
        started = stack("up", state, port)
        assert started.returncode == 0, started.stdout + started.stderr
        row = line(started.stdout, "registry")
        match = re.match(rf"registry +done {re.escape(url)} started \(pid (\d+), data {state}/", row)
        assert match, started.stdout
        pid = int(match.group(1))
        config = state / f"registry-{port}" / "config.yml"
        assert (state / f"registry-{port}" / "pid").read_text().strip() == str(pid)
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:3] == [
            b"docker-registry",
            b"serve",
            str(config).encode(),
        ]
        assert listen_addresses(port) == {"0100007F"}, "the registry must listen on 127.0.0.1 only"

        status, headers = http("GET", f"{url}/v2/")
        assert (status, headers["Docker-Distribution-Api-Version"]) == (200, "registry/2.0")
        # Storage lives under the state dir and delete is enabled: upload a blob, find it, delete it.
        blob = b"local-stack test blob\n"
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        status, headers = http("POST", f"{url}/v2/stack-test/blobs/uploads/", b"")
        assert status == 202
        location = headers["Location"]
        location = location if location.startswith("http") else url + location
        assert http("PUT", f"{location}&digest={digest}", blob)[0] == 201
        stored = state / f"registry-{port}" / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256"
        assert (stored / digest[7:9] / digest[7:] / "data").read_bytes() == blob
        assert http("DELETE", f"{url}/v2/stack-test/blobs/{digest}")[0] == 202

        again = stack("up", state, port)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"{url} running, started by this script (pid {pid})" in line(again.stdout, "registry")
        assert processes_mentioning(str(state)) == [pid]

        status_run = stack("status", state, port)
        assert status_run.returncode == 0
        assert f"{url} answers, started by this script (pid {pid})" in line(status_run.stdout, "registry")
    finally:
        stopped = stack("down", state, port)

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert re.match(rf"registry +done stopped pid {pid} \(registry-{port};", line(stopped.stdout, "registry"))
    assert "not started by this script; left alone" in line(stopped.stdout, "dockerd")
    assert processes_mentioning(str(state)) == []
    assert not (state / f"registry-{port}" / "pid").exists()
    with pytest.raises(urllib.error.URLError):
        NO_PROXY.open(f"{url}/v2/", timeout=5)
    # The shared daemons are untouched.
    assert http("GET", f"http://{local_registry}/v2/")[0] == 200
    assert docker_engine.ping()
    assert dockerd_pids() == dockerd_before

    second = stack("down", state, port)
    assert second.returncode == 0
    assert "none started by this script; others left alone" in line(second.stdout, "registry")

"""The Ansible roles on a real bookworm server in a container, reached over SSH (see ansible/molecule/).

The `default` scenario converges the playbook, converges it again (idempotence: changed=0) and checks the
effective configuration with testinfra; the `service` scenario does the same on a server in the
cocus_service group, which then runs the real service image by digest. `cocusctl harden` runs the playbook
on a fresh instance of the default scenario, from the inventory Molecule writes.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.hardening_target import Scenario, build_target_image

pytestmark = [pytest.mark.docker, pytest.mark.ansible, pytest.mark.slow]


@pytest.fixture(scope="module")
def target_image(docker_engine, base_image, ansible_playbook_bin, molecule_bin, ssh_client_bin) -> str:
    return build_target_image(docker_engine, base_image)


def assert_scenario_passed(scenario: Scenario) -> None:
    result = scenario.molecule("test", timeout=1800)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert f"{scenario.name}: idempotence: Executed: Successful" in log.replace(" > ", ": ").replace(" ➜ ", ": ")
    summary = next(line for line in log.splitlines() if " passed" in line and "==" in line)
    assert "failed" not in summary and "error" not in summary, summary


def test_hardening_scenario_converges_idempotently_and_verifies(target_image: str, tmp_path: Path) -> None:
    assert_scenario_passed(Scenario.create(tmp_path / "molecule", image=target_image))


def test_service_scenario_runs_the_image_by_digest(
    target_image: str, service_image: dict, docker_engine, tmp_path: Path
) -> None:
    scenario = Scenario.create(
        tmp_path / "service", image=target_image, name="service",
        COCUS_SERVICE_IMAGE=service_image["pushed_ref"], COCUS_SERVICE_API_KEY=secrets.token_urlsafe(16),
    )
    try:
        assert_scenario_passed(scenario)
    finally:
        # The unit's container lives in the machine's engine; destroying the server does not remove it.
        subprocess.run(["docker", "rm", "--force", f"{scenario.instance}-rag"], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def server(target_image: str, tmp_path_factory: pytest.TempPathFactory):
    """A fresh, not yet hardened instance of the scenario, destroyed afterwards."""
    scenario = Scenario.create(tmp_path_factory.mktemp("harden"), image=target_image)
    created = scenario.molecule("create", timeout=600)
    try:
        assert created.returncode == 0, (created.stdout + created.stderr)[-4000:]
        yield scenario
    finally:
        scenario.molecule("destroy", timeout=600)


def cocusctl(*args: str, timeout: float = 1500, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`cocusctl --output json harden ARGS` from CWD (where its build/cocus/harden/ansible.log goes)."""
    return subprocess.run(
        [sys.executable, "-m", "cocusctl", "--output", "json", "harden", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"}, cwd=cwd,
    )


def envelope(proc: subprocess.CompletedProcess[str]) -> dict:
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON envelope (exit {proc.returncode}): {proc.stderr[-4000:]}")


def test_harden_applies_then_check_finds_nothing_to_change(server: Scenario, tmp_path: Path) -> None:
    applied = cocusctl("--inventory", str(server.inventory), cwd=tmp_path)
    data = envelope(applied)
    assert applied.returncode == 0, (data["errors"], applied.stderr[-4000:])
    [host] = data["data"]["hosts"]
    assert host["host"] == server.instance
    assert host["status"] == "changed" and host["changed"] > 10 and host["failed"] == 0
    assert "PLAY [Harden the servers]" in applied.stderr  # progress on stderr
    log = (tmp_path / "build" / "cocus" / "harden" / "ansible.log").read_text()
    assert "TASK [hardening : Write the SSH server configuration (validated with sshd -t)]" in log

    checked = cocusctl("--inventory", str(server.inventory), "--check", cwd=tmp_path)
    data = envelope(checked)
    assert checked.returncode == 0, (data["errors"], checked.stderr[-4000:])
    [host] = data["data"]["hosts"]
    assert (host["status"], host["changed"], host["failed"]) == ("ok", 0, 0)
    assert data["data"]["check"] is True

    sshd = server.exec("sshd", "-T").stdout
    assert "permitrootlogin no" in sshd and "passwordauthentication no" in sshd


def test_unreachable_host_fails_with_its_row(ansible_playbook_bin: str, ssh_client_bin: str, tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    ghost:\n      ansible_host: ghost.invalid\n      ansible_user: admin\n"
        "      ansible_ssh_common_args: -o ProxyCommand='false' -o ConnectTimeout=5\n"
    )
    proc = cocusctl("--inventory", str(inventory), timeout=300, cwd=tmp_path)
    data = envelope(proc)
    assert proc.returncode == 4
    assert data["status"] == "error" and data["errors"][0]["code"] == "tool_failed"
    [host] = data["data"]["hosts"]
    assert host["host"] == "ghost" and host["status"] == "unreachable" and host["unreachable"] == 1
    assert host["message"]


def test_limit_matching_no_host_is_bad_input(server: Scenario, tmp_path: Path) -> None:
    proc = cocusctl("--inventory", str(server.inventory), "--limit", "no-such-host", timeout=300, cwd=tmp_path)
    data = envelope(proc)
    assert proc.returncode == 2, proc.stderr
    assert "no hosts to target" in data["errors"][0]["message"]


def test_unparsable_inventory_is_bad_input(ansible_playbook_bin: str, tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: [\n")
    proc = cocusctl("--inventory", str(inventory), timeout=300, cwd=tmp_path)
    data = envelope(proc)
    assert proc.returncode == 2, proc.stderr
    assert data["errors"][0]["message"].startswith(f"nothing run on inventory {inventory}")

"""The roles and the playbook, checked by real Ansible tools without a server: lint, and the service role's
contract checks, which fail before anything on a host changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cocusctl.adapters.ansible import AnsiblePlaybook

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "ansible"
DIGEST_REF = "127.0.0.1:5000/cocus/cocus-rag@sha256:" + "a" * 64

pytestmark = pytest.mark.ansible


def test_ansible_lint_production_profile_is_clean(ansible_playbook_bin: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ansiblelint", "--offline", "--profile", "production", "--nocolor"],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Profile 'production' was required, and it passed." in proc.stderr + proc.stdout


def test_playbook_syntax(ansible_playbook_bin: str) -> None:
    proc = subprocess.run(
        [ansible_playbook_bin, "--syntax-check", "-i", "inventory/example/hosts.yml", "site.yml"],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def run_service_role(tmp_path: Path, variables: dict) -> tuple[int, str, dict]:
    """Run only the cocus_service role on localhost (no SSH, no become); return exit code, output, recap."""
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{
        "name": "Service role contract", "hosts": "all", "gather_facts": False,
        "roles": [{"role": str(ANSIBLE_DIR / "roles" / "cocus_service")}],
    }]))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"box": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable, **variables}}}}))
    lines: list[str] = []
    run = AnsiblePlaybook().run(tmp_path / "play.yml", inventory=tmp_path / "hosts.yml", on_line=lines.append)
    return run.returncode, "\n".join(lines), {h: s.model_dump() for h, s in run.hosts.items()}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"cocus_service_image": "cocus-rag:latest", "cocus_service_env": {"COCUS_AUTH_DISABLED": True}},
         "cocus_service_image must be an image by digest"),
        ({"cocus_service_image": DIGEST_REF, "cocus_service_env": {"COCUS_AUTH_DISABLED": True, "RAG_TOP_K": 5}},
         "settings the service does not read: RAG_TOP_K"),
        ({"cocus_service_image": DIGEST_REF, "cocus_service_env": {"COCUS_API_KEYS": "k1"}},
         "secrets must be in cocus_service_secret_env: COCUS_API_KEYS"),
        ({"cocus_service_image": DIGEST_REF, "cocus_service_secret_env": {"COCUS_API_KEYS": "k", "COCUS_LOG_LEVEL": "INFO"}},
         "not secrets, put them in cocus_service_env: COCUS_LOG_LEVEL"),
        ({"cocus_service_image": DIGEST_REF, "cocus_service_env": {"PORT": 9000, "COCUS_AUTH_DISABLED": True}},
         "set by the platform or the image, not by a deployment: PORT"),
        ({"cocus_service_image": DIGEST_REF, "cocus_service_env": {"COCUS_VERSION": "1.0", "COCUS_AUTH_DISABLED": True}},
         "set by the platform or the image, not by a deployment: COCUS_VERSION"),
        ({"cocus_service_image": DIGEST_REF, "cocus_service_env": {"COCUS_LOG_LEVEL": "INFO", "COCUS_GCP_PROJECT": "p"}},
         "required settings missing: COCUS_API_KEYS (unless COCUS_AUTH_DISABLED=true)"),
        ({"cocus_service_image": DIGEST_REF, "cocus_service_env": {"COCUS_AUTH_DISABLED": False}},
         "required settings missing: COCUS_API_KEYS"),
    ],
    ids=["tag-not-digest", "unknown-setting", "secret-in-plain-env", "plain-in-secret-env", "platform-owned",
         "image-owned", "no-api-key", "auth-not-disabled"],
)
def test_service_role_refuses_settings_outside_the_contract(
    ansible_playbook_bin: str, tmp_path: Path, variables: dict, message: str
) -> None:
    returncode, output, recap = run_service_role(tmp_path, variables)
    assert returncode == 2
    assert message in output
    assert recap["box"]["failed"] == 1 and recap["box"]["changed"] == 0
    assert "k1" not in output.replace("COCUS_API_KEYS", "")

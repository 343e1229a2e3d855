"""The service as the cocus_service role left it: a systemd unit running the image by digest, non-root,
read-only, no capabilities, answering on the server's loopback (testinfra over SSH, as root)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def name(host) -> str:
    return host.ansible.get_variables()["cocus_service_name"]


def http(host, path: str, *, api_key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    """Request the service from inside the server (python3's urllib); (status, JSON body)."""
    script = (
        "import json, sys, urllib.request, urllib.error\n"
        "req = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode() or None, "
        "headers={'Content-Type': 'application/json', **({'X-API-Key': sys.argv[2]} if sys.argv[2] else {})})\n"
        "try:\n"
        "    r = urllib.request.urlopen(req, timeout=30)\n"
        "except urllib.error.HTTPError as e:\n"
        "    r = e\n"
        "print(json.dumps({'status': r.status, 'body': json.loads(r.read() or b'null')}))\n"
    )
    out = host.check_output(
        "python3 -c %s %s %s %s", script, f"http://127.0.0.1:8080{path}", api_key or "",
        json.dumps(body) if body else "",
    )
    data = json.loads(out)
    return data["status"], data["body"]


def test_unit_enabled_and_running(host, name):
    service = host.service(name)
    assert service.is_enabled and service.is_running


def test_settings_file_is_root_only(host, name):
    env = host.file(f"/etc/cocus/{name}.env")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    assert host.file("/etc/cocus").mode == 0o700


def test_container_runs_the_digest_non_root_read_only_without_capabilities(host, name):
    [info] = json.loads(host.check_output("docker inspect %s", name))
    image = host.ansible.get_variables()["cocus_service_image"]
    assert info["Config"]["Image"] == image and "@sha256:" in image
    assert info["Config"]["User"] == "10001:10001"
    assert host.check_output("docker exec %s id -u", name) == "10001"
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["HostConfig"]["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in info["HostConfig"]["SecurityOpt"]
    assert info["State"]["Health"]["Status"] in ("starting", "healthy")


def test_service_answers_health_readiness_and_authenticated_queries(host):
    assert http(host, "/healthz")[0] == 200
    assert http(host, "/readyz")[0] == 200
    status, _ = http(host, "/v1/query", body={"question": "How do I create a virtual environment?"})
    assert status == 401
    api_key = host.ansible.get_variables()["cocus_service_secret_env"]["COCUS_API_KEYS"]
    status, body = http(host, "/v1/query", api_key=api_key,
                        body={"question": "How do I create a virtual environment?", "top_k": 3})
    assert status == 200 and body["answer"] and len(body["sources"]) == 3

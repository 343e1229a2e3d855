"""`cocusctl secrets set`: against a local server speaking Secret Manager's v1 REST protocol (addVersion) for
GCP environments, and into the local secret store for environments on this machine."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocusctl.adapters.secret_manager import crc32c
from cocusctl.cli import secrets
from cocusctl.cli.context import AppContext

VALUE = "s3cr3t-Value-never-printed"


class SecretManagerServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.secrets: dict[str, list[bytes]] = {"projects/acme-cocus-staging/secrets/cocus-rag-api-keys": [b"a"]}
        self.requests: list[dict[str, object]] = []


class Handler(BaseHTTPRequestHandler):
    server: SecretManagerServer

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        if not self.path.startswith("/v1/") or not self.path.endswith(":addVersion"):
            return self._reply(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})
        secret = self.path[len("/v1/"):-len(":addVersion")]
        if secret not in self.server.secrets:
            return self._reply(404, {"error": {"code": 404, "message": f"Secret [{secret}] not found.",
                                               "status": "NOT_FOUND"}})
        data = base64.b64decode(body["payload"]["data"])
        if int(body["payload"]["dataCrc32c"]) != crc32c(data):
            return self._reply(400, {"error": {"code": 400, "message": "Checksum mismatch.",
                                               "status": "INVALID_ARGUMENT"}})
        self.server.secrets[secret].append(data)
        number = len(self.server.secrets[secret])
        return self._reply(200, {"name": f"{secret}/versions/{number}", "state": "ENABLED",
                                 "createTime": "2026-11-25T19:00:00Z"})


@pytest.fixture
def server() -> Iterator[SecretManagerServer]:
    srv = SecretManagerServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def config(tmp_path: Path, server: SecretManagerServer) -> Path:
    path = tmp_path / "cocus.yaml"
    path.write_text(
        "environments:\n  local:\n    infrastructure: false\n  staging:\n    project: acme-cocus-staging\n"
        "    region: europe-west1\n    infra:\n"
        f"      secret_manager_endpoint: http://127.0.0.1:{server.server_port}\n"
        "    revision:\n      secrets:\n"
        "        COCUS_API_KEYS: {secret: cocus-rag-api-keys, version: '1'}\n"
        "        OTHER: {secret: not-created-yet, version: '1'}\n"
    )
    return path


def invoke(runner: CliRunner, config: Path, args: list[str], **kwargs: object):
    return runner.invoke(secrets.app, args, obj=AppContext(config_path=config), **kwargs)


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283 and crc32c(b"") == 0


def test_set_from_stdin_adds_a_version_and_never_prints_the_value(
    runner: CliRunner, config: Path, server: SecretManagerServer
) -> None:
    result = invoke(runner, config, ["set", "cocus-rag-api-keys", "-e", "staging"], input=VALUE + "\n")
    assert result.exit_code == 0, result.output
    assert server.secrets["projects/acme-cocus-staging/secrets/cocus-rag-api-keys"][-1] == VALUE.encode()
    assert result.stdout == (
        "added version 2 of cocus-rag-api-keys (acme-cocus-staging)\n"
        'pin it: revision.secrets COCUS_API_KEYS cocus-rag-api-keys version: "2" (now 1)\n'
    )
    assert "still reads version 1" in result.stderr
    assert VALUE not in result.output and "Authorization" not in server.requests[0]["headers"]


def test_from_file_is_byte_exact_and_json_has_no_value(
    runner: CliRunner, config: Path, server: SecretManagerServer, tmp_path: Path
) -> None:
    value = tmp_path / "value.bin"
    value.write_bytes(VALUE.encode() + b"\n")
    result = invoke(runner, config, ["set", "cocus-rag-api-keys", "-e", "staging", "--from-file", str(value),
                                     "-o", "json"])
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "ok" and envelope["data"]["version"] == "2"
    assert envelope["data"]["resource"] == "projects/acme-cocus-staging/secrets/cocus-rag-api-keys/versions/2"
    assert server.secrets["projects/acme-cocus-staging/secrets/cocus-rag-api-keys"][-1] == VALUE.encode() + b"\n"
    assert VALUE not in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["set", "undeclared", "-e", "staging"], VALUE, 2, "secret 'undeclared' is not referenced by staging"),
        (["set", "cocus-rag-api-keys", "-e", "staging"], "\n", 2, "the secret value is empty"),
        (["set", "not-created-yet", "-e", "staging"], VALUE, 5, "secret 'not-created-yet' does not exist"),
        (["set", "cocus-rag-api-keys", "-e", "local"], VALUE, 2, "secret 'cocus-rag-api-keys' is not referenced by local"),
    ],
)
def test_refusals(
    runner: CliRunner, config: Path, server: SecretManagerServer, args: list[str], stdin: str, code: int,
    message: str,
) -> None:
    before = {k: list(v) for k, v in server.secrets.items()}
    result = invoke(runner, config, args, input=stdin)
    assert result.exit_code == code, result.output
    assert message in result.stderr and VALUE not in result.output
    assert server.secrets == before, "nothing changed"


def test_unreachable_endpoint_is_a_cloud_api_error(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "cocus.yaml"
    path.write_text(
        "environments:\n  local:\n    infrastructure: false\n  staging:\n    project: p-123456\n    infra:\n"
        "      secret_manager_endpoint: http://127.0.0.1:9\n"
        "    revision: {secrets: {S: {secret: s, version: '1'}}}\n"
    )
    result = invoke(runner, path, ["set", "s", "-e", "staging"], input=VALUE)
    assert result.exit_code == 5 and "Secret Manager not reachable" in result.stderr


# --- the local secret store (environments served on this machine) ---------------------------------------
@pytest.fixture
def local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COCUS_SECRETS_FILE", str(tmp_path / "store" / "secrets.json"))
    path = tmp_path / "cocus.yaml"
    path.write_text(
        "default_environment: local-staging\nenvironments:\n  local-staging:\n    project: local-staging\n"
        "    infrastructure: false\n"
        "    cloudrun: {api_endpoint: emulator}\n"
        "    revision: {secrets: {COCUS_API_KEYS: {secret: cocus-rag-api-keys, version: '1'}}}\n"
    )
    return path


def test_local_environment_writes_the_local_store_private_and_never_printed(
    runner: CliRunner, local_config: Path, tmp_path: Path
) -> None:
    from cocusctl.core.local_secrets import LocalSecretStore

    args = ["set", "cocus-rag-api-keys", "-e", "local-staging"]
    first = invoke(runner, local_config, args, input=VALUE + "\n")
    assert first.exit_code == 0, first.output
    assert first.stdout == "added version 1 of cocus-rag-api-keys (local-staging, local secret store)\n"
    store = tmp_path / "store" / "secrets.json"
    assert store.stat().st_mode & 0o777 == 0o600 and store.parent.stat().st_mode & 0o777 == 0o700
    assert VALUE not in store.read_text() and VALUE not in first.output
    assert LocalSecretStore(store).access("local-staging", "cocus-rag-api-keys", "1") == VALUE.encode()

    again = invoke(runner, local_config, args, input=VALUE + "\n")  # a script may set it on every run
    assert again.stdout == "version 1 of cocus-rag-api-keys already holds this value (local-staging, local secret store)\n"
    assert json.loads(invoke(runner, local_config, [*args, "-o", "json"], input=VALUE).stdout)["data"]["created"] is False

    changed = invoke(runner, local_config, args, input="another-value")
    assert changed.stdout.splitlines() == [
        "added version 2 of cocus-rag-api-keys (local-staging, local secret store)",
        'pin it: revision.secrets COCUS_API_KEYS cocus-rag-api-keys version: "2" (now 1)',
    ]
    assert LocalSecretStore(store).access("local-staging", "cocus-rag-api-keys", "latest") == b"another-value"
    assert LocalSecretStore(store).access("local-staging", "cocus-rag-api-keys", "1") == VALUE.encode()

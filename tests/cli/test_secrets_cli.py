"""`cocusctl secrets set` against a local server speaking Secret Manager's v1 REST protocol (addVersion)."""

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
        self.secrets: dict[str, list[bytes]] = {"projects/acme-cocus-staging/secrets/cocus-rag-openai-api-key": [b"a"]}
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
        "      secrets:\n        - {name: cocus-rag-openai-api-key, env: OPENAI_API_KEY, version: '1'}\n"
        "        - {name: not-created-yet, env: OTHER, version: '1'}\n"
    )
    return path


def invoke(runner: CliRunner, config: Path, args: list[str], **kwargs: object):
    return runner.invoke(secrets.app, args, obj=AppContext(config_path=config), **kwargs)


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283 and crc32c(b"") == 0


def test_set_from_stdin_adds_a_version_and_never_prints_the_value(
    runner: CliRunner, config: Path, server: SecretManagerServer
) -> None:
    result = invoke(runner, config, ["set", "cocus-rag-openai-api-key", "-e", "staging"], input=VALUE + "\n")
    assert result.exit_code == 0, result.output
    assert server.secrets["projects/acme-cocus-staging/secrets/cocus-rag-openai-api-key"][-1] == VALUE.encode()
    assert result.stdout == (
        "added version 2 of cocus-rag-openai-api-key (acme-cocus-staging)\n"
        'pin it: infra.secrets cocus-rag-openai-api-key version: "2" (now 1)\n'
    )
    assert "still reads version 1" in result.stderr
    assert VALUE not in result.output and "Authorization" not in server.requests[0]["headers"]


def test_from_file_is_byte_exact_and_json_has_no_value(
    runner: CliRunner, config: Path, server: SecretManagerServer, tmp_path: Path
) -> None:
    value = tmp_path / "value.bin"
    value.write_bytes(VALUE.encode() + b"\n")
    result = invoke(runner, config, ["set", "cocus-rag-openai-api-key", "-e", "staging", "--from-file", str(value),
                                     "-o", "json"])
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "ok" and envelope["data"]["version"] == "2"
    assert envelope["data"]["resource"] == "projects/acme-cocus-staging/secrets/cocus-rag-openai-api-key/versions/2"
    assert server.secrets["projects/acme-cocus-staging/secrets/cocus-rag-openai-api-key"][-1] == VALUE.encode() + b"\n"
    assert VALUE not in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["set", "undeclared", "-e", "staging"], VALUE, 2, "secret 'undeclared' is not declared for staging"),
        (["set", "cocus-rag-openai-api-key", "-e", "staging"], "\n", 2, "the secret value is empty"),
        (["set", "not-created-yet", "-e", "staging"], VALUE, 5, "secret 'not-created-yet' does not exist"),
        (["set", "cocus-rag-openai-api-key", "-e", "local"], VALUE, 2, "has no infrastructure"),
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
        "      secrets: [{name: s, env: S, version: '1'}]\n"
    )
    result = invoke(runner, path, ["set", "s", "-e", "staging"], input=VALUE)
    assert result.exit_code == 5 and "Secret Manager not reachable" in result.stderr

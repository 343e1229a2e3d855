"""Secret Manager adapter: add a secret version over the REST API (v1 `secrets.addVersion`).

Only what `cocusctl secrets set` needs. The real API is reached with Application Default Credentials; an
`http://127.0.0.1:N` endpoint (tests) is called without credentials. The payload is never logged.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cocusctl.adapters.google_auth import access_token
from cocusctl.core.errors import CloudApiError
from cocusctl.core.net import is_loopback

DEFAULT_ENDPOINT = "https://secretmanager.googleapis.com"


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli), the checksum Secret Manager verifies on `payload.dataCrc32c`."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class SecretManager:
    def __init__(self, project: str, *, endpoint: str | None = None, timeout_s: float = 30.0) -> None:
        self.project = project
        self.endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self.timeout_s = timeout_s

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "x-goog-user-project": self.project}
        if not is_loopback(self.endpoint):  # a local test server takes no credentials
            headers["Authorization"] = f"Bearer {access_token()}"
        return headers

    def add_version(self, secret_id: str, data: bytes) -> dict[str, Any]:
        """Add `data` as a new enabled version of the secret; returns the SecretVersion resource."""
        import httpx

        url = f"{self.endpoint}/v1/projects/{self.project}/secrets/{secret_id}:addVersion"
        body = {"payload": {"data": base64.b64encode(data).decode("ascii"), "dataCrc32c": str(crc32c(data))}}
        try:
            response = httpx.post(url, headers=self._headers(), content=json.dumps(body), timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise CloudApiError(f"Secret Manager not reachable at {self.endpoint}: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise CloudApiError(
                f"secret {secret_id!r} does not exist in project {self.project}",
                hint="Terraform creates the (empty) secret: run `cocusctl plan`, then deploy to apply it",
            )
        if response.status_code in (401, 403):
            raise CloudApiError(
                f"not allowed to add a version to secret {secret_id!r} (HTTP {response.status_code})",
                hint="you need roles/secretmanager.secretVersionAdder on the secret",
            )
        if response.status_code >= 400:
            message = _error_message(response)
            raise CloudApiError(f"Secret Manager addVersion failed (HTTP {response.status_code}): {message}")
        return response.json()


def _error_message(response: Any) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]

"""Gemini on Vertex AI through its REST API (httpx for the call).

The access token comes from google-auth's Application Default Credentials when google-auth is
installed (local development, key files), otherwise straight from the metadata server that
Cloud Run and GKE (Workload Identity) provide — the image does not ship google-auth and its
cryptography dependency (~21 MB), see docs/decisions.md.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import GenerationFailed
from .base import SYSTEM_PROMPT, Generation, build_prompt

if TYPE_CHECKING:
    from ..retrieval.index import Hit

_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


class MetadataServerCredentials:
    """Service-account tokens from the GCE metadata server (the google-auth credentials interface)."""

    def __init__(self, host: str | None = None) -> None:
        self.host = host or os.environ.get("GCE_METADATA_HOST", "metadata.google.internal")
        self.token: str | None = None
        self.expiry = 0.0

    @property
    def valid(self) -> bool:
        return self.token is not None and time.monotonic() < self.expiry - 60

    def refresh(self, request: Any = None) -> None:
        url = f"http://{self.host}/computeMetadata/v1/instance/service-accounts/default/token"
        resp = httpx.get(url, headers={"Metadata-Flavor": "Google"}, timeout=5)
        resp.raise_for_status()
        data = resp.json()
        self.token = data["access_token"]
        self.expiry = time.monotonic() + float(data.get("expires_in", 300))


def default_credentials() -> Any:
    try:
        import google.auth
    except ImportError:
        return MetadataServerCredentials()
    creds, _ = google.auth.default(scopes=_SCOPES)
    return creds


def _refresh(creds: Any) -> None:
    if isinstance(creds, MetadataServerCredentials):
        creds.refresh()
        return
    import google.auth.transport.requests

    creds.refresh(google.auth.transport.requests.Request())


class VertexGenerator:
    name = "vertex"

    def __init__(self, project: str, location: str, model: str, timeout: float, max_tokens: int,
                 endpoint: str | None = None, credentials: Any = None) -> None:
        self.model = model
        self.max_tokens = max_tokens
        base = endpoint or f"https://{location}-aiplatform.googleapis.com"
        self.url = (f"{base.rstrip('/')}/v1/projects/{project}/locations/{location}"
                    f"/publishers/google/models/{model}:generateContent")
        self._credentials = credentials
        self._lock = asyncio.Lock()
        self.client = httpx.AsyncClient(timeout=timeout)

    async def _token(self) -> str:
        async with self._lock:
            if self._credentials is None:
                self._credentials = await asyncio.to_thread(default_credentials)
            creds = self._credentials
            if not creds.valid:
                await asyncio.to_thread(_refresh, creds)
            return creds.token

    async def generate(self, question: str, hits: list[Hit]) -> Generation:
        try:
            token = await self._token()
        except Exception as exc:  # noqa: BLE001 - any credential problem is a generator outage
            raise GenerationFailed(f"Vertex AI credentials unavailable ({type(exc).__name__})") from exc
        body = {
            "systemInstruction": {"parts": [{"text": SYSTEM_PROMPT}]},
            "contents": [{"role": "user", "parts": [{"text": build_prompt(question, hits)}]}],
            "generationConfig": {"temperature": 0.1, "maxOutputTokens": self.max_tokens},
        }
        try:
            resp = await self.client.post(self.url, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise GenerationFailed(f"Vertex AI unreachable ({type(exc).__name__})") from exc
        if resp.status_code != 200:
            raise GenerationFailed(f"Vertex AI answered HTTP {resp.status_code}")
        try:
            parts = resp.json()["candidates"][0]["content"]["parts"]
            text = "".join(p.get("text", "") for p in parts).strip()
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GenerationFailed("Vertex AI returned an unexpected body") from exc
        if not text:
            raise GenerationFailed("Vertex AI returned an empty answer")
        return Generation(text, self.model)

    async def aclose(self) -> None:
        await self.client.aclose()

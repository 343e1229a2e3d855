"""Gemini on Vertex AI through its REST API (google-auth for the token, httpx for the call)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import GenerationFailed
from .base import SYSTEM_PROMPT, Generation, build_prompt

if TYPE_CHECKING:
    from ..retrieval.index import Hit

_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


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
                import google.auth

                self._credentials, _ = await asyncio.to_thread(google.auth.default, scopes=_SCOPES)
            creds = self._credentials
            if not creds.valid:
                import google.auth.transport.requests

                await asyncio.to_thread(creds.refresh, google.auth.transport.requests.Request())
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

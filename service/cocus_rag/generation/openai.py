"""Any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, Ollama, OpenAI, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ..errors import GenerationFailed
from .base import SYSTEM_PROMPT, Generation, build_prompt

if TYPE_CHECKING:
    from ..retrieval.index import Hit


class OpenAIGenerator:
    name = "openai"

    def __init__(self, base_url: str, api_key: str, model: str, timeout: float, max_tokens: int) -> None:
        self.model = model
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout)

    async def generate(self, question: str, hits: list[Hit]) -> Generation:
        payload = {
            "model": self.model,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": build_prompt(question, hits)}],
            "temperature": 0.1,
            "max_tokens": self.max_tokens,
        }
        try:
            resp = await self.client.post("chat/completions", json=payload)
        except httpx.HTTPError as exc:
            raise GenerationFailed(f"OpenAI-compatible endpoint unreachable ({type(exc).__name__})") from exc
        if resp.status_code != 200:
            raise GenerationFailed(f"OpenAI-compatible endpoint answered HTTP {resp.status_code}")
        try:
            data = resp.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GenerationFailed("OpenAI-compatible endpoint returned an unexpected body") from exc
        if not isinstance(content, str) or not content.strip():
            raise GenerationFailed("OpenAI-compatible endpoint returned an empty answer")
        return Generation(content.strip(), str(data.get("model") or self.model))

    async def aclose(self) -> None:
        await self.client.aclose()

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import Settings
    from ..retrieval.index import Hit


@dataclass
class Generation:
    answer: str
    model: str


class Generator(Protocol):
    name: str

    async def generate(self, question: str, hits: list[Hit]) -> Generation: ...

    async def aclose(self) -> None: ...


SYSTEM_PROMPT = (
    "You answer questions about the Python 3.11 documentation. Use only the numbered passages. "
    "Cite every claim with the passage number in square brackets, e.g. [1]. If the passages do not "
    "contain the answer, say so briefly."
)


def build_prompt(question: str, hits: list[Hit]) -> str:
    parts = []
    for i, h in enumerate(hits, 1):
        c = h.chunk
        parts.append(f"[{i}] {c.title} — {c.section} ({c.doc_id})\n{c.text}")
    return "Passages:\n\n" + "\n\n".join(parts) + f"\n\nQuestion: {question}\nAnswer with citations:"


def build_generator(settings: Settings) -> Generator:
    if settings.generator == "openai":
        from .openai import OpenAIGenerator

        return OpenAIGenerator(settings.openai_base_url, settings.openai_api_key.get_secret_value(),
                               settings.openai_model, settings.openai_timeout, settings.generation_max_tokens)
    if settings.generator == "vertex":
        from .vertex import VertexGenerator

        return VertexGenerator(settings.vertex_project or settings.google_cloud_project, settings.vertex_location,
                               settings.vertex_model, settings.vertex_timeout, settings.generation_max_tokens,
                               endpoint=settings.vertex_endpoint or None)
    from .extractive import ExtractiveGenerator

    return ExtractiveGenerator(max_sentences=settings.extractive_sentences)

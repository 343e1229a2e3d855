"""Extractive answers: the best-supported sentences of the top passages, each with its citation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..retrieval.text import analyze, split_sentences
from .base import Generation

if TYPE_CHECKING:
    from ..retrieval.index import Hit

NO_ANSWER = "No sentence in the retrieved passages answers this directly; see the cited sources"


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, max_sentences: int = 3, passages: int = 4,
                 idf: Callable[[str], float] | None = None) -> None:
        self.max_sentences = max_sentences
        self.passages = passages
        self.idf = idf or (lambda term: 1.0)

    def compose(self, question: str, hits: list[Hit]) -> str:
        q_terms = set(analyze(question))
        if not hits:
            return "No relevant passage was found in the corpus."
        scored: list[tuple[float, int, int, str]] = []
        for rank, hit in enumerate(hits[: self.passages]):
            for pos, sentence in enumerate(split_sentences(hit.chunk.text)):
                words = sentence.split()
                # Prose only: code blocks (multi-line), lead-ins ending in ":" and fragments are skipped.
                if len(words) < 5 or len(words) > 80 or "\n" in sentence or sentence.endswith(":"):
                    continue
                terms = set(analyze(sentence))
                overlap = q_terms & terms
                if not overlap:
                    continue
                weight = sum(self.idf(t) for t in overlap)
                score = weight / math.sqrt(len(terms) + 1) + 0.5 / (rank + 1)
                scored.append((score, rank, pos, sentence))
        if not scored:
            return f"{NO_ANSWER} [1]."
        best = sorted(scored, key=lambda s: -s[0])[: self.max_sentences]
        best.sort(key=lambda s: (s[1], s[2]))  # keep the passages' reading order
        parts = []
        for _, rank, _, sentence in best:
            sentence = sentence.rstrip()
            if sentence[-1:] in ".!?:":
                parts.append(f"{sentence[:-1]} [{rank + 1}]{sentence[-1] if sentence[-1] != ':' else '.'}")
            else:
                parts.append(f"{sentence} [{rank + 1}].")
        return " ".join(parts)

    async def generate(self, question: str, hits: list[Hit]) -> Generation:
        return Generation(self.compose(question, hits), "extractive")

    async def aclose(self) -> None:
        return None

"""Answer generators behind one interface: extractive (default), OpenAI-compatible, Vertex AI."""

from __future__ import annotations

from .base import Generation, Generator, build_generator

__all__ = ["Generation", "Generator", "build_generator"]

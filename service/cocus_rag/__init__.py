"""cocus RAG service: hybrid retrieval over a bundled corpus with cited answers."""

__version__ = "0.1.0"

"""Embeddings: a numpy BERT forward pass (build time) and static token embeddings (runtime)."""

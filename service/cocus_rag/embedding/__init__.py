"""Embeddings: a BERT sentence encoder exported to ONNX (build time) and run by ONNX Runtime."""

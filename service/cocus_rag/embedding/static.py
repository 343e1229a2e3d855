"""Static token embeddings: the runtime embedder (numpy + tokenizers only).

A static model is a directory with ``embeddings.npy`` (``vocab x dims``, weights already applied;
int8 with per-row ``scales.npy``, or float16), ``tokenizer.json`` and ``meta.json``. A text's embedding is the mean of its token
vectors, L2-normalised — no transformer at query time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .quant import dequantize_rows

MODEL_FILES = ("embeddings.npy", "tokenizer.json", "meta.json")


class ModelLoadError(RuntimeError):
    """The static model directory is missing or malformed."""


class StaticEmbedder:
    def __init__(self, model_dir: str | Path) -> None:
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
        if missing:
            raise ModelLoadError(f"static model at {model_dir} is missing {', '.join(missing)}")
        self.model_dir = model_dir
        self.meta = json.loads((model_dir / "meta.json").read_text())
        raw = np.load(model_dir / "embeddings.npy")
        if raw.dtype == np.int8:
            if not (model_dir / "scales.npy").is_file():
                raise ModelLoadError(f"static model at {model_dir}: int8 embeddings without scales.npy")
            self.vectors = dequantize_rows(raw, np.load(model_dir / "scales.npy"))
        else:
            self.vectors = raw.astype(np.float32)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        if self.vectors.shape[0] != self.tokenizer.get_vocab_size():
            raise ModelLoadError(
                f"static model at {model_dir}: {self.vectors.shape[0]} vectors for a vocabulary of "
                f"{self.tokenizer.get_vocab_size()} tokens")

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.model_dir.name))

    def fingerprint(self) -> str:
        """Content hash of the model files (part of the index version)."""
        h = hashlib.sha256()
        for name in (*MODEL_FILES, "scales.npy"):
            if (self.model_dir / name).is_file():
                h.update((self.model_dir / name).read_bytes())
        return h.hexdigest()

    def embed(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """``(len(texts), dims)`` float32, rows L2-normalised (all-zero for token-less text)."""
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            out[start:start + batch_size] = self._embed_batch(texts[start:start + batch_size])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        nonempty = lengths > 0
        if nonempty.any():
            ids = np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encs])
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[nonempty]
            sums = np.add.reduceat(self.vectors[ids], starts, axis=0)
            out[nonempty] = sums / lengths[nonempty, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_one(self, text: str) -> np.ndarray:
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return np.zeros(self.dims, dtype=np.float32)
        v = self.vectors[ids].mean(axis=0)
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

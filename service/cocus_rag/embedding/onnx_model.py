"""The contextual sentence embedder: a transformer run by ONNX Runtime (no torch).

A model directory holds ``model.onnx`` (``input_ids``, ``attention_mask`` -> ``embeddings``, already
pooled and L2-normalised; written by ``onnx_export``), ``tokenizer.json`` and ``meta.json``. The same
class embeds every chunk at image build (several threads, length-sorted batches) and each question
at query time (one thread: the second core serves HTTP).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

MODEL_FILES = ("model.onnx", "tokenizer.json", "meta.json")


class ModelLoadError(RuntimeError):
    """The model directory is missing, incomplete or unreadable."""


class OnnxEmbedder:
    def __init__(self, model_dir: str | Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
        if missing:
            raise ModelLoadError(f"embedding model at {model_dir} is missing {', '.join(missing)}")
        self.model_dir = model_dir
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.meta = json.loads((model_dir / "meta.json").read_text())
            self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            self.session = ort.InferenceSession(str(model_dir / "model.onnx"), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - tokenizers and onnxruntime raise their own types
            raise ModelLoadError(f"embedding model at {model_dir}: {exc}") from exc
        self.max_length = int(self.meta.get("max_length", 256))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        self._dims = int(self.meta["dims"])
        self._fingerprint: str | None = None

    @property
    def dims(self) -> int:
        return self._dims

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.model_dir.name))

    def fingerprint(self) -> str:
        """Content hash of the model files (part of the index version and the model id)."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            for name in MODEL_FILES:
                h.update((self.model_dir / name).read_bytes())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    @property
    def model_id(self) -> str:
        """``name@sha256[:12]``: says which weights embedded the chunks, not just which family."""
        return f"{self.name}@{self.fingerprint()[:12]}"

    def _run(self, sequences: list[list[int]]) -> np.ndarray:
        width = max(len(s) for s in sequences)
        ids = np.zeros((len(sequences), width), dtype=np.int64)
        mask = np.zeros((len(sequences), width), dtype=np.int64)
        for row, seq in enumerate(sequences):
            ids[row, :len(seq)] = seq
            mask[row, :len(seq)] = 1
        return self.session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})[0]

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """``(len(texts), dims)`` float32, L2-normalised. Batches of similar length waste no padding."""
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        sequences = [e.ids for e in self.tokenizer.encode_batch(texts)]
        order = np.argsort([len(s) for s in sequences], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self._run([sequences[i] for i in rows])
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self._run([self.tokenizer.encode(text).ids])[0]

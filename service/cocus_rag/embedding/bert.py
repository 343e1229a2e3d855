"""A numpy implementation of the BERT encoder forward pass (enough for all-MiniLM-L6-v2).

Used at image-build time to distill static embeddings and by the retrieval benchmark to compare
the static model with the full transformer. Never imported by the request path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .safetensors_np import load_safetensors


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and scipy is not a dependency.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU that BERT uses."""
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0, dtype=x.dtype)))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@dataclass
class BertConfig:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    layer_norm_eps: float
    max_position_embeddings: int

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text())
        return cls(
            hidden_size=raw["hidden_size"],
            num_hidden_layers=raw["num_hidden_layers"],
            num_attention_heads=raw["num_attention_heads"],
            layer_norm_eps=raw.get("layer_norm_eps", 1e-12),
            max_position_embeddings=raw.get("max_position_embeddings", 512),
        )


class NumpyBert:
    """BERT encoder with mean pooling over the attention mask (sentence-transformers style)."""

    def __init__(self, model_dir: str | Path, max_length: int = 256) -> None:
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        self.model_dir = model_dir
        self.config = BertConfig.from_file(model_dir / "config.json")
        raw = load_safetensors(model_dir / "model.safetensors")
        # Strip an optional "bert." prefix and copy into contiguous float32 arrays.
        self.w = {k.removeprefix("bert."): np.ascontiguousarray(v, dtype=np.float32) for k, v in raw.items()
                  if v.dtype != np.int64}
        self.max_length = min(max_length, self.config.max_position_embeddings)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()

    @property
    def vocab_size(self) -> int:
        return int(self.w["embeddings.word_embeddings.weight"].shape[0])

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token states for a padded batch: ``ids`` and ``mask`` are ``(batch, seq)``."""
        w, cfg = self.w, self.config
        batch, seq = ids.shape
        h = cfg.hidden_size
        heads = cfg.num_attention_heads
        dh = h // heads
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:seq][None, :, :]
             + w["embeddings.token_type_embeddings.weight"][0][None, None, :])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], cfg.layer_norm_eps)
        neg = ((1.0 - mask.astype(np.float32)) * -1e9)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(dh))
        for i in range(cfg.num_hidden_layers):
            p = f"encoder.layer.{i}."
            flat = x.reshape(batch * seq, h)

            def proj(name: str, inp: np.ndarray = flat, p: str = p) -> np.ndarray:
                return inp @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q = proj("attention.self.query").reshape(batch, seq, heads, dh).transpose(0, 2, 1, 3)
            k = proj("attention.self.key").reshape(batch, seq, heads, dh).transpose(0, 2, 3, 1)
            v = proj("attention.self.value").reshape(batch, seq, heads, dh).transpose(0, 2, 1, 3)
            scores = (q @ k) * scale + neg
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * seq, h)
            attn = proj("attention.output.dense", ctx)
            flat = layer_norm(attn + flat, w[p + "attention.output.LayerNorm.weight"],
                              w[p + "attention.output.LayerNorm.bias"], cfg.layer_norm_eps)
            inter = gelu(proj("intermediate.dense", flat))
            out = proj("output.dense", inter)
            flat = layer_norm(out + flat, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                              cfg.layer_norm_eps)
            x = flat.reshape(batch, seq, h)
        return x

    def embed_ids(self, sequences: list[list[int]], batch_size: int = 64) -> np.ndarray:
        """Mean-pooled, L2-normalised embeddings of already-tokenised sequences (with specials)."""
        out = np.zeros((len(sequences), self.config.hidden_size), dtype=np.float32)
        order = np.argsort([len(s) for s in sequences], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            seq = max(len(sequences[i]) for i in idx)
            ids = np.zeros((len(idx), seq), dtype=np.int64)
            mask = np.zeros((len(idx), seq), dtype=np.float32)
            for row, i in enumerate(idx):
                s = sequences[i]
                ids[row, :len(s)] = s
                mask[row, :len(s)] = 1.0
            states = self.forward(ids, mask)
            pooled = (states * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out[idx] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        encs = self.tokenizer.encode_batch(texts)
        return self.embed_ids([e.ids for e in encs], batch_size=batch_size)

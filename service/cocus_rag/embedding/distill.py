"""Distil a static embedding model from a sentence-transformer (build time only).

Every vocabulary token is run through the transformer as ``[CLS] token [SEP]``, mean-pooled,
reduced by PCA and re-weighted so that frequent tokens count less:

* ``zipf`` — weight ``log(1 + rank)`` using the vocabulary id as a frequency rank (model2vec's
  assumption for frequency-sorted vocabularies);
* ``sif`` — smooth inverse frequency ``a / (a + p(token))`` with ``p`` counted on a text corpus;
* ``none``.

Special and ``[unused]`` tokens get weight 0.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .bert import NumpyBert
from .quant import quantize_rows

WEIGHTINGS = ("zipf", "sif", "none")


def token_vectors(bert: NumpyBert, token_ids: np.ndarray | None = None, batch_size: int = 2048) -> np.ndarray:
    """Mean-pooled ``[CLS] t [SEP]`` output for every token id (not normalised).

    With ``token_ids`` only those rows are computed (the others stay zero) — used by fast tests.
    """
    vocab = bert.tokenizer.get_vocab()
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    n = bert.vocab_size
    todo = np.arange(n) if token_ids is None else np.unique(np.asarray(token_ids, dtype=np.int64))
    out = np.zeros((n, bert.config.hidden_size), dtype=np.float32)
    mask = np.ones((1, 3), dtype=np.float32)
    for start in range(0, len(todo), batch_size):
        ids = todo[start:start + batch_size]
        batch = np.stack([np.full_like(ids, cls_id), ids, np.full_like(ids, sep_id)], axis=1)
        states = bert.forward(batch, np.repeat(mask, len(ids), axis=0))
        out[ids] = states.mean(axis=1)
    return out


def pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, float]:
    """Project the centred rows of ``x`` on their top ``dims`` principal axes; also the kept variance."""
    centred = x - x.mean(axis=0, keepdims=True)
    cov = centred.T @ centred / max(1, len(x) - 1)
    evals, evecs = np.linalg.eigh(cov.astype(np.float64))
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    dims = min(dims, x.shape[1])
    explained = float(evals[:dims].sum() / evals.sum())
    return (centred @ evecs[:, :dims].astype(np.float32)).astype(np.float32), explained


def special_token_mask(vocab: dict[str, int], size: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    for tok, i in vocab.items():
        if tok.startswith("[") and tok.endswith("]"):
            mask[i] = True
    return mask


def sif_weights(tokenizer, texts: Iterable[str], size: int, a: float = 1e-3) -> np.ndarray:
    counts = np.zeros(size, dtype=np.float64)
    batch: list[str] = []

    def flush() -> None:
        for enc in tokenizer.encode_batch(batch, add_special_tokens=False):
            np.add.at(counts, enc.ids, 1)
        batch.clear()

    for t in texts:
        batch.append(t)
        if len(batch) >= 512:
            flush()
    if batch:
        flush()
    p = (counts + 1.0) / (counts.sum() + size)
    return a / (a + p)


def distill(model_dir: str | Path, out_dir: str | Path, dims: int = 256, weighting: str = "zipf",
            frequency_texts: Iterable[str] | None = None, name: str | None = None,
            token_ids: np.ndarray | None = None, quantize: bool = True) -> dict:
    """Write a static model to ``out_dir``; returns its ``meta.json`` content."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
    if weighting == "sif" and frequency_texts is None:
        raise ValueError("sif weighting needs frequency_texts")
    t0 = time.perf_counter()
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    bert = NumpyBert(model_dir)
    vecs = token_vectors(bert, token_ids)
    if token_ids is None:
        reduced, explained = pca(vecs, dims)
    else:
        # PCA fitted on the computed rows only; the rows that were skipped stay zero.
        rows = np.unique(np.asarray(token_ids, dtype=np.int64))
        sub, explained = pca(vecs[rows], dims)
        reduced = np.zeros((len(vecs), sub.shape[1]), dtype=np.float32)
        reduced[rows] = sub
    n = len(reduced)
    vocab = bert.tokenizer.get_vocab()
    if weighting == "zipf":
        weights = np.log1p(np.arange(n, dtype=np.float64))
    elif weighting == "sif":
        weights = sif_weights(bert.tokenizer, frequency_texts or [], n)
    else:
        weights = np.ones(n)
    weights[special_token_mask(vocab, n)] = 0.0
    final = reduced * weights[:, None].astype(np.float32)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("embeddings.npy", "scales.npy"):
        (out_dir / stale).unlink(missing_ok=True)
    if quantize:
        q, scales = quantize_rows(final)
        np.save(out_dir / "embeddings.npy", q)
        np.save(out_dir / "scales.npy", scales)
    else:
        np.save(out_dir / "embeddings.npy", final.astype(np.float16))
    shutil.copyfile(model_dir / "tokenizer.json", out_dir / "tokenizer.json")
    meta = {
        "name": name or f"all-MiniLM-L6-v2-static{dims}-{weighting}",
        "source_model": "sentence-transformers/all-MiniLM-L6-v2",
        "dims": int(final.shape[1]),
        "vocab_size": n,
        "weighting": weighting,
        "storage": "int8+row-scale" if quantize else "float16",
        "pca_explained_variance": round(explained, 4),
        "distilled_tokens": n if token_ids is None else int(len(np.unique(token_ids))),
        "distill_seconds": round(time.perf_counter() - t0, 1),
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta

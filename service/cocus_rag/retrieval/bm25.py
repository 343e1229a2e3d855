"""Okapi BM25 with precomputed per-posting weights (query = a few ``bincount`` calls)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .text import analyze


@dataclass
class BM25:
    terms: dict[str, int]
    indptr: np.ndarray  # (n_terms + 1,) int64
    postings: np.ndarray  # (nnz,) int32 chunk ids
    weights: np.ndarray  # (nnz,) float32: idf * saturated tf
    n_docs: int

    @classmethod
    def build(cls, texts: list[str], k1: float = 1.2, b: float = 0.75) -> BM25:
        term_ids: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for doc, text in enumerate(texts):
            toks = analyze(text)
            lengths[doc] = len(toks)
            for term, tf in Counter(toks).items():
                rows.append(term_ids.setdefault(term, len(term_ids)))
                cols.append(doc)
                tfs.append(tf)
        n = len(texts)
        rows_a = np.asarray(rows, dtype=np.int64)
        order = np.lexsort((np.asarray(cols), rows_a))
        rows_a = rows_a[order]
        cols_a = np.asarray(cols, dtype=np.int32)[order]
        tf_a = np.asarray(tfs, dtype=np.float32)[order]
        df = np.bincount(rows_a, minlength=len(term_ids)).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        avgdl = float(lengths.mean()) if n else 1.0
        norm = k1 * (1.0 - b + b * lengths[cols_a] / max(avgdl, 1e-9))
        weights = (idf[rows_a] * tf_a * (k1 + 1.0) / (tf_a + norm)).astype(np.float32)
        indptr = np.zeros(len(term_ids) + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=indptr[1:])
        return cls(term_ids, indptr, cols_a, weights, n)

    def idf(self, term: str) -> float:
        """Inverse document frequency of an analysed term (0 for unknown terms)."""
        t = self.terms.get(term)
        if t is None:
            return 0.0
        df = float(self.indptr[t + 1] - self.indptr[t])
        return float(np.log1p((self.n_docs - df + 0.5) / (df + 0.5)))

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term in set(analyze(query)):
            t = self.terms.get(term)
            if t is None:
                continue
            lo, hi = self.indptr[t], self.indptr[t + 1]
            out += np.bincount(self.postings[lo:hi], weights=self.weights[lo:hi], minlength=self.n_docs
                               ).astype(np.float32)
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Compact arrays for ``np.savez``: terms as one UTF-8 blob, weights as float16."""
        vocab = sorted(self.terms, key=self.terms.__getitem__)
        blob = np.frombuffer("\n".join(vocab).encode(), dtype=np.uint8)
        postings = self.postings.astype(np.uint16) if self.n_docs <= 65536 else self.postings
        return {"bm25_terms": blob, "bm25_indptr": self.indptr, "bm25_postings": postings,
                "bm25_weights": self.weights.astype(np.float16)}

    @classmethod
    def from_arrays(cls, arrays, n_docs: int) -> BM25:
        vocab = arrays["bm25_terms"].tobytes().decode().split("\n")
        terms = {t: i for i, t in enumerate(vocab)}
        return cls(terms, arrays["bm25_indptr"], arrays["bm25_postings"].astype(np.int32),
                   arrays["bm25_weights"].astype(np.float32), n_docs)

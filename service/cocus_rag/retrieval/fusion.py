"""How the hybrid ranks pages: a linear score over per-page evidence from BM25 and the dense model.

Plain reciprocal-rank fusion sees two ranks per page and nothing else; a page's other evidence —
how its outline (title + section headings) and its chunks as a whole match the question, how many of
its chunks the dense model puts near the top — is what separates the right page from a changelog
that mentions the same words. Every feature is relative to the question's best candidate, so one set
of weights serves every question:

==============  ==========================================================================
bm25_rrf        60 / (60 + rank) in the BM25 page ranking (0 outside its top ``DEPTH``)
dense_rrf       the same in the dense page ranking
bm25_rel        the page's best BM25 chunk score / the question's best (0 without a match)
dense_rel       the page's best chunk cosine − the question's best
outline_rel     cosine with the page's outline vector − the best outline cosine
centroid_rel    cosine with the page's mean chunk vector − the best such cosine
dense_hits      log(1 + the page's chunks among the top ``HITS_DEPTH`` dense chunks)
==============  ==========================================================================

Candidates are the pages in the top ``DEPTH`` of either channel. ``WEIGHTS`` were fit on the dev
questions only (keyword q01–q100 and paraphrased d01–d99; never the held-out split) by
``benchmarks/service_fusion_fit.py``: a listwise softmax cross-entropy over each question's
candidates (the pages listed as its sources are the targets), L2 0.001, Newton's method; 5-fold
cross-validation on the same questions is in ``benchmarks/results/service_fusion_fit.json``.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("bm25_rrf", "dense_rrf", "bm25_rel", "dense_rel", "outline_rel", "centroid_rel", "dense_hits")
WEIGHTS = np.array([0.09, 2.35, 3.37, 4.02, 1.73, 1.83, 0.73])
DEPTH = 50
HITS_DEPTH = 50
RRF_K = 60


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest finite scores, best first (ties: lower index first)."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n]
    top = part[np.lexsort((part, -scores[part]))]
    return top[np.isfinite(scores[top])]


def _inverse_rank(ranking: np.ndarray, n_pages: int) -> np.ndarray:
    out = np.zeros(n_pages, dtype=np.float64)
    out[ranking] = RRF_K / (RRF_K + np.arange(1, len(ranking) + 1))
    return out


def page_features(bm25_pages: np.ndarray, dense_pages: np.ndarray, outline: np.ndarray, centroid: np.ndarray,
                  page_hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(candidates, X)``: candidate page ids (ascending) and their feature rows (``FEATURES`` order).

    ``bm25_pages``/``dense_pages``: each page's best chunk score (-inf: no BM25 match); ``outline``,
    ``centroid``: cosines with the page vectors; ``page_hits``: chunks per page in the dense top list.
    """
    n = len(dense_pages)
    bm25_rank, dense_rank = top_indices(bm25_pages, DEPTH), top_indices(dense_pages, DEPTH)
    candidates = np.union1d(bm25_rank, dense_rank)
    matched = np.isfinite(bm25_pages)
    best_bm25 = float(bm25_pages[matched].max()) if matched.any() else 1.0
    bm25_rel = np.where(matched, bm25_pages, 0.0) / best_bm25
    columns = (_inverse_rank(bm25_rank, n), _inverse_rank(dense_rank, n), bm25_rel, dense_pages - dense_pages.max(),
               outline - outline.max(), centroid - centroid.max(), np.log1p(page_hits))
    return candidates, np.stack([c[candidates] for c in columns], axis=1)


def rank_pages(candidates: np.ndarray, features: np.ndarray, top_k: int) -> list[tuple[int, float]]:
    """The ``top_k`` candidates by ``features @ WEIGHTS`` (ties: lower page id first)."""
    scores = features @ WEIGHTS
    order = np.lexsort((candidates, -scores))[:top_k]
    return [(int(candidates[j]), float(scores[j])) for j in order]

"""Fit the hybrid's page-fusion weights (service/cocus_rag/retrieval/fusion.py) on the DEV questions only.

Questions: keyword q01–q100 and paraphrased d01–d99. The held-out paraphrases (p01–p80) are never
read here. For every question the index's own ``page_features`` gives the candidate pages and their
features; the model is a linear score with a listwise softmax cross-entropy (the question's source
pages share the target mass), L2-regularised, solved by Newton's method with a backtracking line
search (convex, so the result does not depend on a starting point or a learning rate). Reports the
fitted weights, the weights in fusion.py, and recall@5 / MRR of both under 5-fold cross-validation
on the dev questions (each fold's weights fit on the other four folds).

    python benchmarks/service_fusion_fit.py [--image cocus-rag:dev | --model-dir M --index-dir I]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from service_common import ROOT, write_result
from service_retrieval import add_index_arguments, model_and_index_dirs

sys.path.insert(0, str(ROOT / "service"))

from cocus_rag.embedding.onnx_model import OnnxEmbedder  # noqa: E402
from cocus_rag.evaluation import EVAL_DIR, Question, load_questions  # noqa: E402
from cocus_rag.retrieval import fusion  # noqa: E402
from cocus_rag.retrieval.index import Index  # noqa: E402

DEV_FILES = ("questions.jsonl", "paraphrased_dev.jsonl")  # never paraphrased_heldout.jsonl
L2 = 1e-3
FOLDS = 5

Sample = tuple[np.ndarray, np.ndarray]  # features of the candidates, target mass per candidate
Row = tuple[np.ndarray, np.ndarray, np.ndarray]  # candidate pages, their features, which are sources


def softmax_loss(w: np.ndarray, samples: list[Sample]) -> float:
    total = 0.5 * L2 * len(samples) * float(w @ w)
    for x, target in samples:
        s = x @ w
        m = s.max()
        total -= float(target @ (s - m - np.log(np.exp(s - m).sum())))
    return total


def fit(samples: list[Sample]) -> np.ndarray:
    w = np.zeros(samples[0][0].shape[1])
    for _ in range(50):
        grad = L2 * len(samples) * w
        hess = L2 * len(samples) * np.eye(len(w))
        for x, target in samples:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            grad = grad + x.T @ (p - target)
            mean = x.T @ p
            hess = hess + x.T @ (x * p[:, None]) - np.outer(mean, mean)
        step = np.linalg.solve(hess, grad)
        base, a = softmax_loss(w, samples), 1.0
        while softmax_loss(w - a * step, samples) > base - 1e-4 * a * float(grad @ step) and a > 1e-8:
            a /= 2
        w = w - a * step
        if np.abs(a * step).max() < 1e-8:
            break
    return w


def feature_rows(index: Index, questions: list[Question]) -> list[Row]:
    """Per question: its candidate pages, their features and which of them are its sources."""
    doc_ids = [d for d, _ in index.chunks.docs]
    rows = []
    for q in questions:
        candidates, x = index.page_features(q.question)
        rows.append((candidates, x, np.array([doc_ids[c] in q.sources for c in candidates])))
    return rows


def rank_of_first_source(candidates: np.ndarray, x: np.ndarray, relevant: np.ndarray, w: np.ndarray) -> int | None:
    order = np.lexsort((candidates, -(x @ w)))
    hits = np.flatnonzero(relevant[order])
    return int(hits[0]) + 1 if len(hits) else None


def scores(ranks: list[int | None]) -> dict:
    n = len(ranks)
    return {"recall@5": round(sum(1 for r in ranks if r and r <= 5) / n, 4),
            "mrr": round(sum(1.0 / r for r in ranks if r) / n, 4), "n": n}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_index_arguments(p)
    args = p.parse_args()
    questions: list[Question] = [q for f in DEV_FILES for q in load_questions(EVAL_DIR / f)]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, index_dir, _ = model_and_index_dirs(args, Path(tmp))
        index = Index.load(index_dir, OnnxEmbedder(model_dir))
        rows = feature_rows(index, questions)
    usable = [i for i, (_, _, rel) in enumerate(rows) if rel.any()]

    def samples(ids: list[int]) -> list[Sample]:
        return [(rows[i][1], rows[i][2] / rows[i][2].sum()) for i in ids if i in usable]

    fitted = fit(samples(list(range(len(rows)))))
    fold_of = np.random.default_rng(0).permutation(len(rows)) % FOLDS
    cv_ranks: list[int | None] = [None] * len(rows)
    for f in range(FOLDS):
        w = fit(samples([i for i in range(len(rows)) if fold_of[i] != f]))
        for i in np.flatnonzero(fold_of == f):
            cv_ranks[i] = rank_of_first_source(rows[i][0], rows[i][1], rows[i][2], w)
    shipped_ranks = [rank_of_first_source(c, x, rel, fusion.WEIGHTS) for c, x, rel in rows]
    kw = [i for i, q in enumerate(questions) if q.id.startswith("q")]
    dev = [i for i, q in enumerate(questions) if q.id.startswith("d")]
    out = {
        "index_version": index.version,
        "embedding_model": index.model_id,
        "questions": {"keyword": len(kw), "paraphrased_dev": len(dev), "paraphrased_heldout": 0},
        "questions_without_a_candidate_source": len(rows) - len(usable),
        "features": list(fusion.FEATURES),
        "fitted_weights": [round(float(v), 2) for v in fitted],
        "shipped_weights": [float(v) for v in fusion.WEIGHTS],
        "cross_validated": {"keyword": scores([cv_ranks[i] for i in kw]),
                            "paraphrased_dev": scores([cv_ranks[i] for i in dev])},
        "shipped_on_dev": {"keyword": scores([shipped_ranks[i] for i in kw]),
                           "paraphrased_dev": scores([shipped_ranks[i] for i in dev])},
    }
    write_result("service_fusion_fit", out)


if __name__ == "__main__":
    main()

"""Does the held-out score of the learned page fusion depend on dev questions that resemble held-out ones?

The paraphrased dev questions d31–d99 were written after the held-out split (p01–p80), and some of them
ask nearly the same thing ("find all files whose names end with .txt" / "find all the files in a folder
whose names end in .txt"). The fusion weights are fit on dev, so such pairs could lift the held-out score.
This refits the weights (``service_fusion_fit.fit``) with the resembling dev questions removed, at
growing strictness, down to the keyword questions alone, and scores each fit on the held-out split. The
shipped weights are not chosen from these runs: they are the fit on every dev question.

    python benchmarks/service_fusion_leakage.py [--image cocus-rag:dev | --model-dir M --index-dir I]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from service_common import ROOT, write_result
from service_fusion_fit import Row, feature_rows, fit, rank_of_first_source, scores
from service_retrieval import add_index_arguments, model_and_index_dirs

sys.path.insert(0, str(ROOT / "service"))

from cocus_rag.embedding.onnx_model import OnnxEmbedder  # noqa: E402
from cocus_rag.evaluation import EVAL_DIR, load_questions  # noqa: E402
from cocus_rag.retrieval import fusion  # noqa: E402
from cocus_rag.retrieval.index import Index  # noqa: E402

NEAR = 0.4  # word-set Jaccard at which a dev question counts as resembling a held-out one


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def jaccard(a: str, b: str) -> float:
    x, y = words(a), words(b)
    return len(x & y) / max(1, len(x | y))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_index_arguments(p)
    args = p.parse_args()
    keyword = load_questions(EVAL_DIR / "questions.jsonl")
    dev = load_questions(EVAL_DIR / "paraphrased_dev.jsonl")
    heldout = load_questions(EVAL_DIR / "paraphrased_heldout.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, index_dir, _ = model_and_index_dirs(args, Path(tmp))
        index = Index.load(index_dir, OnnxEmbedder(model_dir))
        kw_rows, dev_rows, heldout_rows = (feature_rows(index, qs) for qs in (keyword, dev, heldout))
    heldout_sets = {tuple(sorted(q.sources)) for q in heldout}
    heldout_pages = {s for q in heldout for s in q.sources}
    near = {q.id for q in dev if max(jaccard(q.question, h.question) for h in heldout) >= NEAR}
    variants = {
        "every dev question (as the shipped weights were fit)": set(),
        f"without dev questions resembling a held-out one (word Jaccard >= {NEAR})": near,
        "... and without those with a held-out question's exact source set": near | {
            q.id for q in dev if tuple(sorted(q.sources)) in heldout_sets},
        "... and without those sharing any page with a held-out question": near | {
            q.id for q in dev if set(q.sources) & heldout_pages},
        "keyword questions only (no paraphrases)": {q.id for q in dev},
    }

    def score(w: np.ndarray, rs: list[Row]) -> dict:
        return scores([rank_of_first_source(c, x, rel, w) for c, x, rel in rs])

    results = []
    for name, excluded in variants.items():
        train = [(x, rel / rel.sum()) for _, x, rel in kw_rows if rel.any()]
        train += [(x, rel / rel.sum()) for q, (_, x, rel) in zip(dev, dev_rows, strict=True)
                  if rel.any() and q.id not in excluded]
        w = fit(train)
        results.append({"fit_on": name, "dev_questions_left_out": len(excluded), "training_questions": len(train),
                        "weights": [round(float(v), 2) for v in w], "heldout": score(w, heldout_rows)})
    dense_only = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])  # dense_rel alone: the dense channel's page ranking
    out = {
        "index_version": index.version,
        "features": list(fusion.FEATURES),
        "shipped_weights": [float(v) for v in fusion.WEIGHTS],
        "resembling_pairs": sorted(
            ((round(jaccard(q.question, h.question), 2), q.id, h.id) for q in dev for h in heldout
             if jaccard(q.question, h.question) >= NEAR), reverse=True),
        "variants": results,
        "dense_page_ranking_heldout": score(dense_only, heldout_rows),
        "worst_heldout_recall_at_5": min(r["heldout"]["recall@5"] for r in results),
    }
    write_result("service_fusion_leakage", out)


if __name__ == "__main__":
    main()

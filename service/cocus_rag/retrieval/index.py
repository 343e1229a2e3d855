"""The on-disk retrieval index: chunks, BM25 postings, dense vectors and a version hash.

Layout of an index directory (built for a fast cold start: no per-chunk JSON to parse)::

    manifest.json     version, model, chunking, counts
    chunks_meta.json  {"docs": [[doc_id, title], ...], "sections": [[heading, anchor], ...]}
    chunks_text.bin   every chunk's text, UTF-8, concatenated
    arrays.npz        chunk -> doc/section/offset tables, BM25 postings, dense vectors (int8 + row scale)

The version is the first 16 hex digits of sha256(corpus fingerprint, model fingerprint,
chunking parameters); the same inputs always give the same version.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import numpy as np

from ..embedding.quant import dequantize_rows, quantize_rows
from ..embedding.static import StaticEmbedder
from .bm25 import BM25
from .chunking import Chunk, ChunkingParams, chunk_corpus
from .corpus import Document, iter_source_files, load_corpus

Mode = Literal["hybrid", "bm25", "dense"]
FORMAT = 3
RRF_K = 60
# SIF's common-component removal: project the top principal directions of the chunk embeddings out
# of documents and queries (they encode "this is Python documentation", not what a chunk is about).
CCR_COMPONENTS = 5


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
    for part in (corpus_fp, model_fp, json.dumps(params.as_dict(), sort_keys=True), f"format={FORMAT}",
                 f"ccr={CCR_COMPONENTS}"):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def rrf(rankings: list[np.ndarray], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking.tolist()):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank + 1)
    return fused


def common_components(vectors: np.ndarray, n: int) -> np.ndarray:
    if n <= 0 or len(vectors) <= n:
        return np.zeros((0, vectors.shape[1]), dtype=np.float32)
    _, _, vt = np.linalg.svd(vectors.astype(np.float32), full_matrices=False)
    return vt[:n].astype(np.float32)


def remove_components(x: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Project ``components`` out of ``x`` (rows or one vector) and re-normalise."""
    if len(components):
        x = x - (x @ components.T) @ components
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.argsort(-scores[part], kind="stable")]


class ChunkStore(Sequence[Chunk]):
    """Chunks decoded on access from columnar tables and one UTF-8 blob."""

    def __init__(self, docs: list[list[str]], sections: list[list[str]], doc_idx: np.ndarray,
                 sec_idx: np.ndarray, offsets: np.ndarray, blob: bytes) -> None:
        self.docs, self.sections = docs, sections
        self.doc_idx, self.sec_idx, self.offsets, self.blob = doc_idx, sec_idx, offsets, blob

    @classmethod
    def from_chunks(cls, chunks: list[Chunk]) -> ChunkStore:
        docs: dict[tuple[str, str], int] = {}
        sections: dict[tuple[str, str], int] = {}
        texts = [c.text.encode() for c in chunks]
        offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in texts], out=offsets[1:])
        doc_idx = np.asarray([docs.setdefault((c.doc_id, c.title), len(docs)) for c in chunks], dtype=np.int32)
        sec_idx = np.asarray([sections.setdefault((c.section, c.anchor), len(sections)) for c in chunks],
                             dtype=np.int32)
        return cls([list(d) for d in docs], [list(x) for x in sections], doc_idx, sec_idx, offsets, b"".join(texts))

    def __len__(self) -> int:
        return len(self.doc_idx)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        doc_id, title = self.docs[self.doc_idx[i]]
        section, anchor = self.sections[self.sec_idx[i]]
        text = self.blob[self.offsets[i]:self.offsets[i + 1]].decode()
        return Chunk(doc_id, title, section, anchor, text)

    def save(self, out_dir: Path) -> dict[str, np.ndarray]:
        (out_dir / "chunks_meta.json").write_text(json.dumps({"docs": self.docs, "sections": self.sections},
                                                             ensure_ascii=False))
        (out_dir / "chunks_text.bin").write_bytes(self.blob)
        return {"chunk_doc": self.doc_idx, "chunk_section": self.sec_idx, "chunk_offsets": self.offsets}

    @classmethod
    def load(cls, index_dir: Path, arrays) -> ChunkStore:
        meta = json.loads((index_dir / "chunks_meta.json").read_text())
        return cls(meta["docs"], meta["sections"], arrays["chunk_doc"], arrays["chunk_section"],
                   arrays["chunk_offsets"], (index_dir / "chunks_text.bin").read_bytes())


class Index:
    def __init__(self, chunks: Sequence[Chunk], bm25: BM25, vectors: np.ndarray, embedder: StaticEmbedder,
                 manifest: dict, components: np.ndarray | None = None) -> None:
        self.chunks = chunks
        self.bm25 = bm25
        self.vectors = vectors.astype(np.float32)
        self.components = (components if components is not None
                           else np.zeros((0, self.vectors.shape[1]), dtype=np.float32))
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
        raw = embedder.embed(texts)
        components = common_components(raw, CCR_COMPONENTS)
        vectors = remove_components(raw, components)
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
            "dense_common_components_removed": int(len(components)),
            "build_seconds": round(time.perf_counter() - t0, 2),
        }
        return cls(ChunkStore.from_chunks(chunks), bm25, vectors, embedder, manifest, components)

    def save(self, out_dir: str | Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        store = self.chunks if isinstance(self.chunks, ChunkStore) else ChunkStore.from_chunks(list(self.chunks))
        dense_q, dense_scale = quantize_rows(self.vectors)
        arrays = {"dense_q": dense_q, "dense_scale": dense_scale, "dense_ccr": self.components,
                  **store.save(out_dir), **self.bm25.to_arrays()}
        np.savez(out_dir / "arrays.npz", **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
        (out_dir / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n")
        return out_dir

    @classmethod
    def load(cls, index_dir: str | Path, embedder: StaticEmbedder) -> Index:
        index_dir = Path(index_dir)
        try:
            manifest = json.loads((index_dir / "manifest.json").read_text())
            if manifest.get("format") != FORMAT:
                raise IndexLoadError(
                    f"index at {index_dir} has format {manifest.get('format')}, expected {FORMAT}")
            arrays = dict(np.load(index_dir / "arrays.npz", allow_pickle=False))
            chunks = ChunkStore.load(index_dir, arrays)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexLoadError(f"cannot load index from {index_dir}: {exc}") from exc
        if manifest.get("model_dims") != embedder.dims or manifest.get("model") != embedder.name:
            raise IndexLoadError(
                f"index at {index_dir} was built with model {manifest.get('model')} "
                f"({manifest.get('model_dims')} dims), not {embedder.name} ({embedder.dims} dims)")
        bm25 = BM25.from_arrays(arrays, len(chunks))
        return cls(chunks, bm25, dequantize_rows(arrays["dense_q"], arrays["dense_scale"]), embedder, manifest,
                   arrays["dense_ccr"])

    # -- search ----------------------------------------------------------------
    def dense_scores(self, query: str) -> np.ndarray:
        return self.vectors @ remove_components(self.embedder.embed_one(query), self.components)

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

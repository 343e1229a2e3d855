"""The on-disk retrieval index: chunks, BM25 postings, dense vectors and a version hash.

Layout of an index directory (built for a fast cold start: no per-chunk JSON to parse)::

    manifest.json     version, model, chunking, counts
    chunks_meta.json  {"docs": [[doc_id, title], ...], "sections": [[heading, anchor, context], ...]}
    chunks_text.bin   every chunk's text, UTF-8, concatenated
    arrays.npz        chunk -> doc/section/offset tables, BM25 postings, dense chunk vectors and page
                      outline vectors (int8 + row scale)

The version is the first 16 hex digits of sha256(corpus fingerprint, model fingerprint, chunking
parameters, format, fusion weights); the same inputs always give the same version, and a revision
that ranks differently never shares a version (or cached answers) with one that does not.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, overload

import numpy as np

from ..embedding.quant import dequantize_rows, quantize_rows
from . import fusion
from .bm25 import BM25
from .chunking import Chunk, ChunkingParams, chunk_corpus
from .corpus import Document, iter_source_files, load_corpus

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")
FORMAT = 5


class Embedder(Protocol):
    """What the index needs from an embedding model (``embedding.onnx_model.OnnxEmbedder``)."""

    @property
    def name(self) -> str: ...

    @property
    def dims(self) -> int: ...

    @property
    def model_id(self) -> str: ...

    def fingerprint(self) -> str: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def embed_one(self, text: str) -> np.ndarray: ...


class IndexLoadError(RuntimeError):
    """The index directory is missing, incomplete or from another format."""


@dataclass
class Hit:
    """One source: a page's best chunk. ``score`` is the page's (fused, or the channel's), the ranks are
    the page's in each channel's page ranking."""

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


def fusion_id() -> str:
    return "linear(" + ", ".join(f"{n}={w:g}" for n, w in zip(fusion.FEATURES, fusion.WEIGHTS, strict=True)) + ")"


def index_version(corpus_fp: str, model_fp: str, params: ChunkingParams) -> str:
    h = hashlib.sha256()
    for part in (corpus_fp, model_fp, json.dumps(params.as_dict(), sort_keys=True), f"format={FORMAT}",
                 fusion_id()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def rrf(rankings: list[np.ndarray], k: int = fusion.RRF_K) -> dict[int, float]:
    """Reciprocal-rank fusion of chunk rankings: picks the chunk that answers for each page."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking.tolist()):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank + 1)
    return fused


class ChunkStore(Sequence[Chunk]):
    """Chunks decoded on access from columnar tables and one UTF-8 blob."""

    def __init__(self, docs: list[list[str]], sections: list[list[str]], doc_idx: np.ndarray,
                 sec_idx: np.ndarray, offsets: np.ndarray, blob: bytes) -> None:
        self.docs, self.sections = docs, sections
        self.doc_idx, self.sec_idx, self.offsets, self.blob = doc_idx, sec_idx, offsets, blob

    @classmethod
    def from_chunks(cls, chunks: list[Chunk]) -> ChunkStore:
        docs: dict[tuple[str, str], int] = {}
        sections: dict[tuple[str, str, str], int] = {}
        texts = [c.text.encode() for c in chunks]
        offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in texts], out=offsets[1:])
        doc_idx = np.asarray([docs.setdefault((c.doc_id, c.title), len(docs)) for c in chunks], dtype=np.int32)
        sec_idx = np.asarray([sections.setdefault((c.section, c.anchor, c.context), len(sections))
                              for c in chunks], dtype=np.int32)
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
        section, anchor, context = self.sections[self.sec_idx[i]]
        text = self.blob[self.offsets[i]:self.offsets[i + 1]].decode()
        return Chunk(doc_id, title, section, anchor, text, context)

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


def page_outline(doc: Document) -> str:
    """What a page's outline vector embeds: its title and every section heading, in order."""
    headings = [s.heading for s in doc.sections if s.heading and s.heading != doc.title]
    return f"{doc.title}: " + "; ".join(headings)


class Index:
    def __init__(self, chunks: ChunkStore, bm25: BM25, vectors: np.ndarray, outlines: np.ndarray,
                 embedder: Embedder, manifest: dict) -> None:
        self.chunks = chunks
        self.bm25 = bm25
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.outlines = np.ascontiguousarray(outlines, dtype=np.float32)  # one row per page (ChunkStore.docs)
        self.embedder = embedder
        self.manifest = manifest
        # chunks grouped by page: per-page maxima are one reduceat over a permuted score vector
        doc_of = np.asarray(chunks.doc_idx, dtype=np.int64)
        self._by_doc = np.argsort(doc_of, kind="stable")
        bounds = np.flatnonzero(np.diff(doc_of[self._by_doc])) + 1
        self._doc_starts = np.concatenate(([0], bounds)).astype(np.int64)
        self._doc_ends = np.concatenate((bounds, [len(doc_of)])).astype(np.int64)
        self._doc_of = doc_of
        sums = np.add.reduceat(self.vectors[self._by_doc], self._doc_starts, axis=0)
        self.centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)

    # -- properties ------------------------------------------------------------
    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def model_id(self) -> str:
        return str(self.manifest["model_id"])

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    @property
    def n_documents(self) -> int:
        return int(self.manifest["documents"])

    # -- build / save / load ---------------------------------------------------
    @classmethod
    def build(cls, corpus_dir: str | Path, embedder: Embedder, params: ChunkingParams | None = None,
              docs: list[Document] | None = None, vectors: np.ndarray | None = None) -> Index:
        """Chunk, index and embed ``corpus_dir``; ``vectors`` are chunk embeddings computed earlier
        (``embed_chunks``) — the caller checks they belong to these chunks and this model."""
        params = params or ChunkingParams()
        corpus_dir = Path(corpus_dir)
        t0 = time.perf_counter()
        docs = docs if docs is not None else load_corpus(corpus_dir)
        if not docs:
            raise IndexLoadError(f"no documents with text found under {corpus_dir}")
        chunks = chunk_corpus(docs, params)
        texts = [c.search_text() for c in chunks]
        bm25 = BM25.build(texts)
        if vectors is None:
            vectors = embedder.embed(texts)
        elif vectors.shape != (len(chunks), embedder.dims):
            raise IndexLoadError(f"chunk vectors have shape {vectors.shape}, expected {(len(chunks), embedder.dims)}")
        store = ChunkStore.from_chunks(chunks)
        by_id = {d.doc_id: d for d in docs}
        outlines = embedder.embed([page_outline(by_id[doc_id]) for doc_id, _ in store.docs])
        version = index_version(corpus_fingerprint(corpus_dir), embedder.fingerprint(), params)
        manifest = {
            "format": FORMAT,
            "version": version,
            "model": embedder.name,
            "model_id": embedder.model_id,
            "model_dims": embedder.dims,
            "chunking": params.as_dict(),
            "documents": len(store.docs),
            "chunks": len(chunks),
            "bm25_terms": len(bm25.terms),
            "fusion": f"pages: {fusion_id()} over the top {fusion.DEPTH} pages of each channel",
            "build_seconds": round(time.perf_counter() - t0, 2),
        }
        return cls(store, bm25, vectors, outlines, embedder, manifest)

    def save(self, out_dir: str | Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        dense_q, dense_scale = quantize_rows(self.vectors)
        outline_q, outline_scale = quantize_rows(self.outlines)
        arrays = {"dense_q": dense_q, "dense_scale": dense_scale, "outline_q": outline_q,
                  "outline_scale": outline_scale, **self.chunks.save(out_dir), **self.bm25.to_arrays()}
        np.savez(out_dir / "arrays.npz", allow_pickle=False, **arrays)
        (out_dir / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n")
        return out_dir

    @classmethod
    def load(cls, index_dir: str | Path, embedder: Embedder) -> Index:
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
        if manifest.get("model_id") != embedder.model_id:
            raise IndexLoadError(f"index at {index_dir} was built with model {manifest.get('model_id')}, "
                                 f"not {embedder.model_id}")
        bm25 = BM25.from_arrays(arrays, len(chunks))
        return cls(chunks, bm25, dequantize_rows(arrays["dense_q"], arrays["dense_scale"]),
                   dequantize_rows(arrays["outline_q"], arrays["outline_scale"]), embedder, manifest)

    # -- search ----------------------------------------------------------------
    def search(self, query: str, top_k: int = 5, mode: Mode = "hybrid", candidates: int = 50) -> list[Hit]:
        return self.search_many([query], top_k, mode, candidates)[0]

    def search_many(self, queries: list[str], top_k: int = 5, mode: Mode = "hybrid",
                    candidates: int = 50) -> list[list[Hit]]:
        """One matrix product for all ``queries`` (the service batches concurrent requests: the chunk
        matrix is read once per batch, not once per question). Each question is embedded alone, so its
        vector never depends on the other questions in the batch (int8 activations are quantised per call)."""
        if mode == "bm25":
            return [self._rank(q, None, top_k, mode, candidates) for q in queries]
        qv = np.vstack([self.embedder.embed_one(q) for q in queries])
        dense = (self.vectors @ qv.T).T
        outline, centroid = (self.outlines @ qv.T).T, (self.centroids @ qv.T).T
        return [self._rank(q, (dense[i], outline[i], centroid[i]), top_k, mode, candidates)
                for i, q in enumerate(queries)]

    def page_features(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """The hybrid's candidate pages for ``query`` and their features (``fusion.FEATURES``); what
        ``benchmarks/service_fusion_fit.py`` fits the weights on."""
        qv = self.embedder.embed_one(query)
        return self._features(self.bm25.scores(query), self.vectors @ qv, self.outlines @ qv, self.centroids @ qv)

    def _features(self, bm25: np.ndarray, dense: np.ndarray, outline: np.ndarray,
                  centroid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hits = np.bincount(self._doc_of[fusion.top_indices(dense, fusion.HITS_DEPTH)],
                           minlength=len(self._doc_starts))
        return fusion.page_features(self._doc_best(np.where(bm25 > 0, bm25, -np.inf)), self._doc_best(dense),
                                    outline, centroid, hits)

    def _rank(self, query: str, dense: tuple[np.ndarray, np.ndarray, np.ndarray] | None, top_k: int, mode: Mode,
              candidates: int) -> list[Hit]:
        """Rank pages, answer with each one's best chunk.

        ``bm25``/``dense`` rank pages by their best chunk in that channel. The hybrid ranks the pages in
        either channel's top list with ``fusion`` (both channels' evidence per page, learned weights).
        Each of the ``top_k`` pages is represented by its chunk with the best chunk-level RRF (or
        channel score): the sources are distinct pages, not three passages of one.
        """
        channels: list[tuple[str, np.ndarray]] = []
        if mode != "dense":
            b = self.bm25.scores(query)
            channels.append(("bm25", np.where(b > 0, b, -np.inf)))
        if dense is not None:
            channels.append(("dense", dense[0]))
        page_best = {name: self._doc_best(s) for name, s in channels}
        doc_rank = {name: {int(d): r + 1 for r, d in enumerate(fusion.top_indices(best, candidates))}
                    for name, best in page_best.items()}
        if mode == "hybrid" and dense is not None:
            ordered = fusion.rank_pages(*self._features(channels[0][1], *dense), top_k)
        else:
            name, _ = channels[0]
            ordered = [(d, float(page_best[name][d])) for d in list(doc_rank[name])[:top_k]]
        chunk_tops = [fusion.top_indices(s, candidates) for _, s in channels]
        chunk_scores = rrf(chunk_tops)
        hits = []
        for doc, score in ordered:
            cid = self._representative(doc, chunk_scores, channels)
            hits.append(Hit(cid, self.chunks[cid], score, doc_rank.get("bm25", {}).get(doc),
                            doc_rank.get("dense", {}).get(doc)))
        return hits

    def _doc_best(self, scores: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(scores[self._by_doc], self._doc_starts)

    def _representative(self, doc: int, chunk_scores: dict[int, float],
                        channels: list[tuple[str, np.ndarray]]) -> int:
        members = self._by_doc[self._doc_starts[doc]:self._doc_ends[doc]]
        fused = [(chunk_scores[int(c)], int(c)) for c in members if int(c) in chunk_scores]
        if fused:
            return max(fused)[1]
        s = channels[-1][1]  # outside every top list: the page's best chunk in the last channel (dense if any)
        return int(members[int(np.argmax(s[members]))])

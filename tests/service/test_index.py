"""Corpus parsing, chunking, the index build/save/load cycle, search modes and the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from cocus_rag.cli import main as cli_main
from cocus_rag.embedding.onnx_model import OnnxEmbedder
from cocus_rag.retrieval import fusion
from cocus_rag.retrieval.bm25 import BM25
from cocus_rag.retrieval.chunking import ChunkingParams, chunk_corpus
from cocus_rag.retrieval.corpus import load_corpus, parse_html, parse_text
from cocus_rag.retrieval.index import Index, IndexLoadError, rrf
from cocus_rag.retrieval.text import analyze


def test_sphinx_html_keeps_main_content_only(corpus_dir) -> None:
    doc = parse_html("library/venv.html", (corpus_dir / "library/venv.html").read_text())
    assert doc.title == "venv — Creation of virtual environments"
    text = doc.text
    assert "python3 -m venv /path/to/new/virtual/environment" in text
    for noise in ("navigation should be ignored", "Sidebar text", "footer", "¶", "not content"):
        assert noise not in text
    anchors = {s.heading: s.anchor for s in doc.sections}
    assert anchors["Creating virtual environments"] == "creating-virtual-environments"
    assert anchors["How venvs work"] == "how-venvs-work"


def test_corpus_ids_are_relative_paths_and_indexes_are_skipped(corpus_dir) -> None:
    ids = [d.doc_id for d in load_corpus(corpus_dir)]
    assert "library/venv.html" in ids and "notes.md" in ids and "tutorial/errors.html" in ids
    assert not any(i.startswith(("genindex", "_static")) for i in ids)
    assert ids == sorted(ids)


def test_chunks_respect_the_word_limit(corpus_dir) -> None:
    chunks = chunk_corpus(load_corpus(corpus_dir), ChunkingParams(max_words=12, min_words=1))
    assert len(chunks) > 15
    assert max(len(c.text.split()) for c in chunks) <= 12
    venv = [c for c in chunks if c.doc_id == "library/venv.html"]
    assert {c.anchor for c in venv} >= {"module-venv", "creating-virtual-environments", "how-venvs-work"}
    assert venv[0].search_text().startswith("venv — Creation of virtual environments")


def test_analyzer_keeps_dotted_names_and_drops_stopwords() -> None:
    assert analyze("The os.path.join function joins paths") == ["os.path.join", "os", "path", "join",
                                                                 "function", "join", "path"]


def test_bm25_prefers_rare_terms() -> None:
    bm = BM25.build(["apple banana", "banana banana cherry", "cherry durian"])
    s = bm.scores("durian banana")
    assert s.argmax() == 2 and s[0] > 0 and bm.scores("zzz").sum() == 0


def test_rrf_rewards_agreement() -> None:
    fused = rrf([np.array([1, 2, 3]), np.array([2, 1, 4])])
    assert max(fused, key=fused.get) in (1, 2) and fused[3] < fused[1] and 4 in fused


def test_index_round_trip_and_search(index_dir, onnx_model) -> None:
    index = Index.load(index_dir, OnnxEmbedder(onnx_model))
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert index.version == manifest["version"] and len(index.version) == 16
    assert index.n_chunks == manifest["chunks"] and index.n_documents == 7
    for mode in ("bm25", "dense", "hybrid"):
        hits = index.search("How do I compute the SHA-256 digest of some bytes?", top_k=3, mode=mode)
        assert hits[0].chunk.doc_id == "library/hashlib.html", mode
    hits = index.search("create a virtual environment", top_k=4)
    assert hits[0].chunk.doc_id == "library/venv.html"
    assert all(h.bm25_rank or h.dense_rank for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_version_is_deterministic_and_tracks_corpus(tmp_path, corpus_dir, onnx_model) -> None:
    emb = OnnxEmbedder(onnx_model)
    v1 = Index.build(corpus_dir, emb).version
    assert Index.build(corpus_dir, emb).version == v1
    assert Index.build(corpus_dir, emb, ChunkingParams(max_words=50)).version != v1
    copy = tmp_path / "corpus"
    shutil.copytree(corpus_dir, copy)
    (copy / "library" / "extra.md").write_text("# Extra\n\nA new document about tarfile archives.\n")
    assert Index.build(copy, emb).version != v1


def test_load_refuses_other_model_or_missing_files(tmp_path, index_dir, onnx_model) -> None:
    with pytest.raises(IndexLoadError, match="cannot load index"):
        Index.load(tmp_path, OnnxEmbedder(onnx_model))
    other = tmp_path / "model"
    shutil.copytree(onnx_model, other)
    meta = json.loads((other / "meta.json").read_text())
    meta["name"] = "another-model"
    (other / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IndexLoadError, match="built with model test-minilm-int8@"):
        Index.load(index_dir, OnnxEmbedder(other))


def test_cli_rebuilds_an_index_from_a_folder(tmp_path, corpus_dir, onnx_model, capsys) -> None:
    out = tmp_path / "idx"
    rc = cli_main(["build-index", "--corpus", str(corpus_dir), "--model", str(onnx_model), "--out", str(out)])
    assert rc == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["documents"] == 7 and (out / "arrays.npz").is_file()
    assert Index.load(out, OnnxEmbedder(onnx_model)).version == manifest["version"]


def test_cli_bad_input_is_one_line_and_changes_nothing(tmp_path, onnx_model, capsys) -> None:
    out = tmp_path / "idx"
    rc = cli_main(["build-index", "--corpus", str(tmp_path / "nope"), "--model", str(onnx_model),
                   "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "does not exist" in err and not out.exists()
    rc = cli_main(["build-index", "--corpus", str(tmp_path), "--model", str(tmp_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "missing model.onnx" in err and "Traceback" not in err and not out.exists()


def test_search_many_equals_one_search_per_question(index_dir, onnx_model) -> None:
    index = Index.load(index_dir, OnnxEmbedder(onnx_model))
    questions = ["create a virtual environment", "hash some bytes with sha256", "read a JSON file"]
    for mode in ("bm25", "dense", "hybrid"):
        together = index.search_many(questions, top_k=4, mode=mode)
        alone = [index.search(q, top_k=4, mode=mode) for q in questions]
        assert [[h.chunk_id for h in hits] for hits in together] == [[h.chunk_id for h in hits] for hits in alone]


def test_paraphrase_is_found_by_dense_retrieval(index_dir, onnx_model) -> None:
    index = Index.load(index_dir, OnnxEmbedder(onnx_model))
    question = "turn a dictionary into text a JavaScript program can read"
    assert index.search(question, top_k=1, mode="dense")[0].chunk.doc_id == "library/json.html"
    assert index.search(question, top_k=1, mode="hybrid")[0].chunk.doc_id == "library/json.html"


def test_chunk_vectors_are_reused_only_for_the_same_chunks_and_model(tmp_path, corpus_dir, onnx_model,
                                                                    capsys) -> None:
    vectors = tmp_path / "vectors"
    assert cli_main(["embed-chunks", "--corpus", str(corpus_dir), "--model", str(onnx_model), "--out",
                     str(vectors), "--max-words", "40", "--threads", "1"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["model_id"] == OnnxEmbedder(onnx_model).model_id and meta["chunks"] > 10
    out = tmp_path / "idx"
    assert cli_main(["build-index", "--corpus", str(corpus_dir), "--model", str(onnx_model), "--out", str(out),
                     "--max-words", "40", "--vectors", str(vectors)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    fresh = Index.build(corpus_dir, OnnxEmbedder(onnx_model), ChunkingParams(max_words=40))
    assert manifest["version"] == fresh.version and manifest["model_id"] == meta["model_id"]
    reused = Index.load(out, OnnxEmbedder(onnx_model))
    assert abs(reused.vectors - fresh.vectors).max() < 0.02  # int8 storage of the same vectors
    # other chunking -> the cached vectors do not fit: refused, nothing written
    other = tmp_path / "other"
    rc = cli_main(["build-index", "--corpus", str(corpus_dir), "--model", str(onnx_model), "--out", str(other),
                   "--max-words", "60", "--vectors", str(vectors)])
    err = capsys.readouterr().err
    assert rc == 2 and "computed for other chunks or another model" in err and not other.exists()


def test_sources_are_distinct_pages_each_with_its_best_chunk(index_dir, onnx_model) -> None:
    index = Index.load(index_dir, OnnxEmbedder(onnx_model))
    for mode in ("bm25", "dense", "hybrid"):
        hits = index.search("How do I create a virtual environment with venv?", top_k=5, mode=mode)
        docs = [h.chunk.doc_id for h in hits]
        assert len(docs) == len(set(docs)) and docs[0] == "library/venv.html", (mode, docs)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    best = index.search("python3 -m venv /path/to/new/virtual/environment", top_k=1, mode="bm25")[0]
    venv_chunks = [i for i, c in enumerate(index.chunks) if c.doc_id == "library/venv.html"]
    scores = index.bm25.scores("python3 -m venv /path/to/new/virtual/environment")
    assert best.chunk_id == max(venv_chunks, key=lambda i: scores[i])  # the page's best chunk represents it


NESTED_PAGE = """<html><body><div class="body" role="main">
<section id="mod"><h1>mod — Tools for widgets</h1>
<p>Source code: Lib/mod.py</p>
<p>This module turns sprockets into widgets. It has more to say.</p>
<section id="making"><h2>Making widgets</h2><p>Call make() with a sprocket to get a widget back quickly.</p>
<section id="fast"><h3>Fast paths</h3><p>Cached sprockets skip the lathe entirely when possible.</p></section>
</section>
<section id="other"><h2>Other</h2><p>Widgets can be compared with each other by size and weight.</p></section>
</section></div></body></html>"""


def test_chunks_carry_the_page_summary_and_heading_path() -> None:
    doc = parse_html("library/mod.html", NESTED_PAGE)
    assert [s.path for s in doc.sections if s.heading] == [
        ("mod — Tools for widgets",), ("mod — Tools for widgets", "Making widgets"),
        ("mod — Tools for widgets", "Making widgets", "Fast paths"), ("mod — Tools for widgets", "Other")]
    chunks = {c.section: c for c in chunk_corpus([doc], ChunkingParams(max_words=12, min_words=1))}
    summary = "This module turns sprockets into widgets."
    assert chunks["Fast paths"].search_text() == (
        f"mod — Tools for widgets ({summary}) — Making widgets — Fast paths\n"
        "Cached sprockets skip the lathe entirely when possible.")
    assert chunks["Other"].context == f"mod — Tools for widgets ({summary}) — Other"
    # the chunk that holds the summary does not repeat it
    opening = next(c for c in chunk_corpus([doc], ChunkingParams(max_words=12, min_words=1)) if summary in c.text)
    assert opening.context == "mod — Tools for widgets"


def test_markdown_headings_nest() -> None:
    doc = parse_text("guide.md", "# Guide\n\nAbout the guide and how to read it well.\n\n## Setup\n\n"
                                 "### Linux\n\nInstall the package with apt.\n\n## Usage\n\nRun it.\n")
    assert [s.path for s in doc.sections if s.heading] == [("Guide",), ("Guide", "Setup"), ("Guide", "Setup", "Linux"),
                                                           ("Guide", "Usage")]


def test_fusion_features_are_relative_to_the_best_candidate() -> None:
    bm25 = np.array([5.0, -np.inf, 2.5, -np.inf])
    dense = np.array([0.2, 0.6, 0.5, 0.1])
    outline, centroid = np.array([0.1, 0.3, 0.4, 0.0]), np.array([0.5, 0.2, 0.1, 0.0])
    hits = np.array([0, 3, 1, 0])
    candidates, x = fusion.page_features(bm25, dense, outline, centroid, hits)
    assert candidates.tolist() == [0, 1, 2, 3] and x.shape == (4, len(fusion.FEATURES))
    col = {name: x[:, i] for i, name in enumerate(fusion.FEATURES)}
    assert col["bm25_rrf"].tolist() == [60 / 61, 0.0, 60 / 62, 0.0]  # unmatched pages get no BM25 rank
    assert col["dense_rrf"][1] == 60 / 61 and col["bm25_rel"].tolist() == [1.0, 0.0, 0.5, 0.0]
    assert col["dense_rel"].max() == col["outline_rel"].max() == col["centroid_rel"].max() == 0.0
    assert col["dense_hits"].tolist() == np.log1p(hits).tolist()
    ranked = fusion.rank_pages(candidates, x, top_k=2)
    scores = x @ fusion.WEIGHTS
    assert [p for p, _ in ranked] == np.argsort(-scores, kind="stable")[:2].tolist()
    assert [s for _, s in ranked] == sorted(scores, reverse=True)[:2]


def test_version_changes_with_the_fusion_weights(monkeypatch, corpus_dir, onnx_model) -> None:
    emb = OnnxEmbedder(onnx_model)
    shipped = Index.build(corpus_dir, emb, ChunkingParams(max_words=40))
    monkeypatch.setattr(fusion, "WEIGHTS", np.ones(len(fusion.FEATURES)))
    other = Index.build(corpus_dir, emb, ChunkingParams(max_words=40))
    assert other.version != shipped.version and "dense_hits=1" in other.manifest["fusion"]


def test_page_vectors_survive_save_and_load(index_dir, onnx_model) -> None:
    index = Index.load(index_dir, OnnxEmbedder(onnx_model))
    assert index.outlines.shape == (index.n_documents, index.embedder.dims) == index.centroids.shape
    assert np.allclose(np.linalg.norm(index.centroids, axis=1), 1.0, atol=1e-5)
    titles = {doc_id: i for i, (doc_id, _) in enumerate(index.chunks.docs)}
    fresh = index.embedder.embed(["hashlib — Secure hashes and message digests: Hash algorithms"])[0]
    assert float(index.outlines[titles["library/hashlib.html"]] @ fresh) > 0.95  # the outline, int8-stored
    candidates, x = index.page_features("compute the SHA-256 digest of some bytes")
    best = candidates[int(np.argmax(x @ fusion.WEIGHTS))]
    assert index.chunks.docs[best][0] == "library/hashlib.html"

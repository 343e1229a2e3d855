"""The numpy BERT forward pass, the safetensors reader and the distilled static model."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from cocus_rag.embedding.bert import NumpyBert, gelu
from cocus_rag.embedding.safetensors_np import SafetensorsError, load_safetensors
from cocus_rag.embedding.static import ModelLoadError, StaticEmbedder

# sentence-transformers' published all-MiniLM-L6-v2 embedding of this sentence (first 8 values).
REFERENCE = [0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374481, 0.0026528, 0.0393749, -0.0070985]


@pytest.fixture(scope="module")
def bert(minilm_dir):
    return NumpyBert(minilm_dir)


def test_numpy_forward_matches_sentence_transformers_reference(bert) -> None:
    emb = bert.embed(["This is an example sentence"])
    assert emb.shape == (1, 384)
    np.testing.assert_allclose(emb[0, :8], REFERENCE, atol=2e-5)
    assert abs(float(np.linalg.norm(emb[0])) - 1.0) < 1e-5


def test_padding_does_not_change_embeddings(bert) -> None:
    texts = ["short", "a much longer sentence that forces padding of the short one in the same batch"]
    together = bert.embed(texts, batch_size=2)
    alone = np.vstack([bert.embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_gelu_is_the_erf_form() -> None:
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0], dtype=np.float64)
    # exact values 0.5 * x * (1 + erf(x / sqrt 2))
    expected = np.array([-0.0040496, -0.1586553, 0.0, 0.3457312, 1.9544997])
    np.testing.assert_allclose(gelu(x), expected, atol=1e-6)


def test_safetensors_reader_round_trip_and_errors(tmp_path) -> None:
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + data.tobytes())
    np.testing.assert_array_equal(load_safetensors(path)["w"], data)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x01")
    with pytest.raises(SafetensorsError, match="too short"):
        load_safetensors(bad)


def test_distilled_model_files_and_weights(static_model) -> None:
    meta = json.loads((static_model / "meta.json").read_text())
    assert meta["dims"] == 64 and meta["weighting"] == "sif" and meta["vocab_size"] == 30522
    q = np.load(static_model / "embeddings.npy")
    assert q.dtype == np.int8 and q.shape == (30522, 64) and meta["storage"] == "int8+row-scale"
    emb = StaticEmbedder(static_model)
    vecs = emb.vectors
    vocab = emb.tokenizer.get_vocab()
    # special tokens carry no weight; distilled ordinary tokens do
    assert not vecs[vocab["[CLS]"]].any() and not vecs[vocab["[SEP]"]].any()
    assert np.abs(vecs[vocab["virtual"]]).sum() > 0


def test_static_embedder_ranks_related_text_higher(static_model) -> None:
    emb = StaticEmbedder(static_model)
    q, related, unrelated = emb.embed(["create a virtual environment",
                                       "virtual environments are created with the venv module",
                                       "the sha256 digest of bytes"])
    assert float(q @ related) > float(q @ unrelated)
    single = emb.embed_one("create a virtual environment")
    np.testing.assert_allclose(single, q, atol=1e-5)
    assert emb.embed([""])[0].tolist() == [0.0] * emb.dims


def test_static_model_missing_files_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match="missing embeddings.npy"):
        StaticEmbedder(tmp_path)


def test_int8_row_quantisation_round_trip() -> None:
    from cocus_rag.embedding.quant import dequantize_rows, quantize_rows

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 32)).astype(np.float32)
    x[3] = 0.0
    q, scale = quantize_rows(x)
    back = dequantize_rows(q, scale)
    assert q.dtype == np.int8 and not back[3].any()
    assert np.abs(back - x).max() <= scale.max() / 2 + 1e-6

"""The ONNX export of the sentence encoder, the ONNX Runtime embedder and the safetensors reader."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from cocus_rag.embedding.onnx_export import ExportError, export_bert, write_model_dir
from cocus_rag.embedding.onnx_model import ModelLoadError, OnnxEmbedder
from cocus_rag.embedding.safetensors_np import SafetensorsError, load_safetensors

# sentence-transformers' published all-MiniLM-L6-v2 embedding of this sentence (first 8 values).
REFERENCE = [0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374481, 0.0026528, 0.0393749, -0.0070985]
SENTENCES = ["This is an example sentence", "How do I create a virtual environment?",
             "turn a dictionary into text a JavaScript program can read",
             "The hashlib module implements a common interface to many secure hash algorithms."]


@pytest.fixture(scope="module")
def float32_model(tmp_path_factory, minilm_dir):
    out = tmp_path_factory.mktemp("float32")
    write_model_dir(minilm_dir, out, name="test-minilm-float32", int8=False)
    return out


def test_float32_export_reproduces_sentence_transformers(float32_model) -> None:
    emb = OnnxEmbedder(float32_model).embed(["This is an example sentence"])
    assert emb.shape == (1, 384)
    np.testing.assert_allclose(emb[0, :8], REFERENCE, atol=2e-6)
    assert abs(float(np.linalg.norm(emb[0])) - 1.0) < 1e-5


def test_int8_model_stays_close_to_float32(float32_model, onnx_model) -> None:
    exact = OnnxEmbedder(float32_model).embed(SENTENCES)
    quantised = OnnxEmbedder(onnx_model).embed(SENTENCES)
    cosines = (exact * quantised).sum(axis=1)
    assert cosines.min() > 0.98, cosines
    assert (onnx_model / "model.onnx").stat().st_size < (float32_model / "model.onnx").stat().st_size / 3


def test_padding_is_masked_out(float32_model) -> None:
    # float32: int8 activations are quantised per call, so with int8 a batch's padding moves the scale a little
    emb = OnnxEmbedder(float32_model)
    together = emb.embed(SENTENCES, batch_size=4)
    alone = np.vstack([emb.embed_one(t) for t in SENTENCES])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_related_text_ranks_higher_without_shared_words(onnx_model) -> None:
    q, related, unrelated = OnnxEmbedder(onnx_model).embed([
        "turn a dictionary into text a JavaScript program can read",
        "json.dumps serializes an object to a JSON formatted str",
        "The sha256 digest of some bytes"])
    assert float(q @ related) > float(q @ unrelated) + 0.1


def test_export_is_deterministic_so_the_model_id_is(tmp_path, minilm_dir, onnx_model) -> None:
    again = tmp_path / "again"
    meta = write_model_dir(minilm_dir, again, name="test-minilm-int8", max_length=128)
    assert meta["dims"] == 384 and meta["weights"].startswith("int8")
    first, second = OnnxEmbedder(onnx_model), OnnxEmbedder(again)
    assert first.model_id == second.model_id and first.model_id.startswith("test-minilm-int8@")
    assert len(first.model_id.split("@")[1]) == 12


def test_model_errors_are_clear(tmp_path, minilm_dir) -> None:
    with pytest.raises(ModelLoadError, match="missing model.onnx, tokenizer.json, meta.json"):
        OnnxEmbedder(tmp_path)
    for name in ("model.onnx", "tokenizer.json"):
        (tmp_path / name).write_bytes(b"not a model")
    (tmp_path / "meta.json").write_text(json.dumps({"dims": 384}))
    with pytest.raises(ModelLoadError, match="embedding model at"):
        OnnxEmbedder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "roberta"}))
    with pytest.raises(ExportError, match="not an absolute-position BERT model"):
        export_bert(tmp_path, tmp_path / "out.onnx")
    with pytest.raises(ExportError, match="has no model.safetensors"):
        write_model_dir(tmp_path, tmp_path / "out", name="x")


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


def test_int8_row_quantisation_round_trip() -> None:
    from cocus_rag.embedding.quant import dequantize_rows, quantize_rows

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 32)).astype(np.float32)
    x[3] = 0.0
    q, scale = quantize_rows(x)
    back = dequantize_rows(q, scale)
    assert q.dtype == np.int8 and not back[3].any()
    assert np.abs(back - x).max() <= scale.max() / 2 + 1e-6

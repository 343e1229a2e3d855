"""Generators: extractive composition, the OpenAI-compatible and Vertex AI wire protocols."""

from __future__ import annotations

import asyncio

import pytest
from cocus_rag.embedding.onnx_model import OnnxEmbedder
from cocus_rag.generation.extractive import ExtractiveGenerator
from cocus_rag.generation.vertex import MetadataServerCredentials, VertexGenerator
from cocus_rag.retrieval.index import Index

from .conftest import API_KEY, auth
from .fake_llm import FakeLLM

Q = {"question": "How do I compute the SHA-256 digest of some bytes?"}


@pytest.fixture(scope="module")
def index(index_dir, onnx_model) -> Index:
    return Index.load(index_dir, OnnxEmbedder(onnx_model))


def test_extractive_picks_supported_sentences_with_citations(index) -> None:
    hits = index.search("What does asyncio.gather return when all awaitables succeed?", top_k=3)
    answer = ExtractiveGenerator(max_sentences=2).compose("What does asyncio.gather return?", hits)
    assert "gather" in answer and "[1]" in answer
    cited = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", answer)}
    assert cited and max(cited) <= 3
    assert answer.count(". ") + 1 <= 3


def test_extractive_without_support_still_cites(index) -> None:
    hits = index.search("zzzz qqqq", top_k=2)
    answer = ExtractiveGenerator().compose("zzzz qqqq", hits)
    assert answer.endswith("[1].")
    assert ExtractiveGenerator().compose("anything", []) == "No relevant passage was found in the corpus."


def test_openai_generator_against_a_local_server(make_client) -> None:
    with FakeLLM() as llm:
        client = make_client(generator="openai", openai_base_url=llm.url + "/v1", openai_api_key="sk-upstream",
                             openai_model="local-model")
        resp = client.post("/v1/query", json=Q, headers=auth())
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["answer"] == "Use hashlib.sha256(data).hexdigest() [1]."
        assert body["generator"] == "openai" and body["model"] == "local-model"
        assert body["sources"][0]["id"] == "library/hashlib.html"
        (req,) = llm.requests
        assert req["path"] == "/v1/chat/completions"
        assert req["headers"]["Authorization"] == "Bearer sk-upstream"
        msgs = req["body"]["messages"]
        assert [m["role"] for m in msgs] == ["system", "user"] and req["body"]["model"] == "local-model"
        assert "[1] hashlib" in msgs[1]["content"] and Q["question"] in msgs[1]["content"]
        assert API_KEY not in str(req)


def test_openai_upstream_failure_is_a_502(make_client) -> None:
    with FakeLLM(status=500) as llm:
        client = make_client(generator="openai", openai_base_url=llm.url + "/v1")
        resp = client.post("/v1/query", json=Q, headers=auth())
    assert resp.status_code == 502
    assert resp.json()["error"] == {"code": "generator_unavailable", "request_id": resp.headers["x-request-id"],
                                    "message": "OpenAI-compatible endpoint answered HTTP 500"}
    metrics = client.get("/metrics").text
    assert 'cocus_generation_errors_total{generator="openai"} 1.0' in metrics


def test_openai_unreachable_is_a_502(make_client) -> None:
    from .conftest import free_port

    client = make_client(generator="openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    resp = client.post("/v1/query", json=Q, headers=auth())
    assert resp.status_code == 502 and "unreachable" in resp.json()["error"]["message"]


def test_vertex_generator_speaks_generate_content(index, monkeypatch) -> None:
    with FakeLLM(answer="Gemini says sha256 [1].") as llm:
        monkeypatch.setenv("GCE_METADATA_HOST", llm.url.removeprefix("http://"))
        creds = MetadataServerCredentials()
        gen = VertexGenerator("my-proj", "europe-west1", "gemini-2.0-flash", 5, 128, endpoint=llm.url,
                              credentials=creds)
        hits = index.search(Q["question"], top_k=2)

        async def run():
            try:
                return await gen.generate(Q["question"], hits), await gen.generate(Q["question"], hits)
            finally:
                await gen.aclose()

        first, second = asyncio.run(run())
    assert first.answer == "Gemini says sha256 [1]." and first.model == "gemini-2.0-flash"
    token_calls = [r for r in llm.requests if r["body"] is None]
    assert len(token_calls) == 1  # the token is reused while valid
    assert token_calls[0]["headers"]["Metadata-Flavor"] == "Google"
    req = [r for r in llm.requests if r["body"] is not None][0]
    assert req["path"] == ("/v1/projects/my-proj/locations/europe-west1/publishers/google/models/"
                           "gemini-2.0-flash:generateContent")
    assert req["headers"]["Authorization"] == "Bearer ya29.metadata-token"
    assert req["body"]["contents"][0]["parts"][0]["text"].startswith("Passages:")
    assert req["body"]["generationConfig"]["maxOutputTokens"] == 128

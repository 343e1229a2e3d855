"""The HTTP API: answers with sources, auth, limits, error shape, operational endpoints, OpenAPI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cocus_rag.config import ConfigError, Settings
from cocus_rag.main import create_app

from .conftest import API_KEY, OTHER_KEY, auth

Q = {"question": "How do I compute the SHA-256 digest of some bytes?"}


def assert_error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code and body["error"]["message"]
    assert body["error"]["request_id"] == resp.headers["x-request-id"]
    return body["error"]


def test_query_answers_with_cited_sources(client) -> None:
    resp = client.post("/v1/query", json=Q, headers=auth())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["sources"][0]["id"] == "library/hashlib.html"
    src = body["sources"][0]
    assert src["title"] == "hashlib — Secure hashes and message digests"
    assert src["url"].startswith("https://docs.python.org/3.11/library/hashlib.html#")
    assert "sha256" in src["snippet"].lower() and src["score"] > 0
    assert len(body["sources"]) == 5
    assert "[1]" in body["answer"] and "sha256" in body["answer"].lower()
    assert body["generator"] == "extractive" and body["cached"] is False
    t = body["timings"]
    assert t["retrieval_ms"] > 0 and t["generation_ms"] >= 0 and t["total_ms"] >= t["retrieval_ms"]
    assert body["index_version"] == client.get("/version").json()["index_version"]


def test_top_k_and_its_limits(client) -> None:
    assert len(client.post("/v1/query", json={**Q, "top_k": 2}, headers=auth()).json()["sources"]) == 2
    err = assert_error(client.post("/v1/query", json={**Q, "top_k": 21}, headers=auth()), 422, "invalid_request")
    assert "top_k" in err["message"]
    assert_error(client.post("/v1/query", json={**Q, "top_k": 0}, headers=auth()), 422, "invalid_request")


@pytest.mark.parametrize("headers", [{"X-API-Key": API_KEY}, {"Authorization": f"Bearer {OTHER_KEY}"},
                                     {"authorization": f"bearer {API_KEY}"}])
def test_both_auth_schemes_accept_every_configured_key(client, headers) -> None:
    assert client.post("/v1/query", json=Q, headers=headers).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer"},
                                     {"Authorization": f"Basic {API_KEY}"}, {"X-API-Key": API_KEY + "x"}])
def test_missing_or_wrong_keys_are_401(client, headers) -> None:
    resp = client.post("/v1/query", json=Q, headers=headers)
    assert_error(resp, 401, "unauthorized")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert API_KEY not in resp.text


def test_operational_endpoints_need_no_key(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "index_loaded": True, "redis": "disabled"}
    assert client.get("/metrics").status_code == 200


def test_request_limits(make_client) -> None:
    client = make_client(max_body_bytes=1024, max_question_chars=50)
    err = assert_error(client.post("/v1/query", json={"question": "x" * 51}, headers=auth()), 422,
                       "invalid_request")
    assert "at most 50 characters" in err["message"]
    big = b'{"question": "' + b"a" * 2000 + b'"}'
    resp = client.post("/v1/query", content=big, headers={**auth(), "content-type": "application/json"})
    assert_error(resp, 413, "payload_too_large")

    def chunks():  # no Content-Length: the streamed body is counted
        for _ in range(10):
            yield b" " * 200

    resp = client.post("/v1/query", content=chunks(), headers={**auth(), "content-type": "application/json"})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("payload, where", [({}, "question"), ({"question": ""}, "question"),
                                            ({"question": "   "}, "question"), ({"question": 3}, "question"),
                                            ({"question": "ok", "extra": 1}, "extra")])
def test_invalid_bodies_are_422_with_field(client, payload, where) -> None:
    err = assert_error(client.post("/v1/query", json=payload, headers=auth()), 422, "invalid_request")
    assert err["message"].startswith(where)


def test_malformed_json_and_unknown_routes(client) -> None:
    resp = client.post("/v1/query", content=b"{not json", headers={**auth(), "content-type": "application/json"})
    assert_error(resp, 422, "invalid_request")
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.get("/v1/query", headers=auth()), 405, "method_not_allowed")


def test_version_reports_build_and_index(make_client, monkeypatch) -> None:
    monkeypatch.setenv("K_REVISION", "rag-00042-abc")
    client = make_client(git_revision="0123abc", version="1.2.3")
    v = client.get("/version").json()
    assert v["git_revision"] == "0123abc" and v["version"] == "1.2.3" and v["k_revision"] == "rag-00042-abc"
    assert v["embedding_model"].startswith("test-minilm-int8@") and v["retrieval_mode"] == "hybrid"
    assert v["corpus_documents"] == 7 and v["corpus_chunks"] > 7
    assert len(v["index_version"]) == 16 and v["generator"] == "extractive"


def test_retrieval_mode_setting_switches_dense_retrieval_off(make_client) -> None:
    paraphrase = {"question": "turn a dictionary into text a JavaScript program can read", "top_k": 3}
    hybrid = make_client().post("/v1/query", json=paraphrase, headers=auth()).json()
    bm25_client = make_client(retrieval_mode="bm25")
    bm25 = bm25_client.post("/v1/query", json=paraphrase, headers=auth()).json()
    assert bm25_client.get("/version").json()["retrieval_mode"] == "bm25"
    assert hybrid["sources"][0]["id"] == "library/json.html"
    assert [s["chunk_id"] for s in bm25["sources"]] != [s["chunk_id"] for s in hybrid["sources"]]


def test_concurrent_questions_get_their_own_answers(client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = ["How do I create a virtual environment?", "How do I compute the SHA-256 digest of some bytes?",
                 "How do I serialize an object to a JSON string?", "How do I join filesystem paths?"] * 4
    expected = {q: client.post("/v1/query", json={"question": q}, headers=auth()).json()["sources"]
                for q in set(questions)}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda q: client.post("/v1/query", json={"question": q, "top_k": 3},
                                                      headers=auth()).json(), questions))
    for q, answer in zip(questions, answers, strict=True):
        assert [s["chunk_id"] for s in answer["sources"]] == [s["chunk_id"] for s in expected[q][:3]]


def test_questions_waiting_together_are_searched_as_one_batch(client) -> None:
    import asyncio

    services = client.app.state.services

    async def ask_all() -> list:
        return await asyncio.gather(*(services.retriever.search(q, 2) for q in (
            "create a virtual environment", "sha256 of bytes", "write JSON", "join paths", "raise an exception",
            "run coroutines concurrently")))

    results = asyncio.run(ask_all())
    assert [r[0].chunk.doc_id for r in results][:2] == ["library/venv.html", "library/hashlib.html"]
    sizes = services.metrics.registry.get_sample_value
    assert sizes("cocus_retrieval_batch_size_sum") == 6
    assert sizes("cocus_retrieval_batch_size_count") < 6  # at least two questions shared a search


def test_not_ready_until_the_index_loads(make_client, tmp_path) -> None:
    client = make_client(index_dir=tmp_path)  # no index there: loading fails, the process stays up
    assert client.get("/healthz").status_code == 200
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.json()["status"] == "failed"
    assert_error(client.post("/v1/query", json=Q, headers=auth()), 503, "not_ready")


def test_cors_is_off_by_default_and_opt_in(make_client) -> None:
    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    resp = make_client().options("/v1/query", headers=pre)
    assert "access-control-allow-origin" not in resp.headers
    resp = make_client(cors_origins="https://app.example").options(
        "/v1/query", headers={**pre, "Origin": "https://app.example"})
    assert resp.headers["access-control-allow-origin"] == "https://app.example"


def test_openapi_documents_the_contract(client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/query", "/healthz", "/readyz", "/metrics", "/version"} <= set(spec["paths"])
    post = spec["paths"]["/v1/query"]["post"]
    assert {"200", "401", "413", "422", "429"} <= set(post["responses"])
    schemas = spec["components"]["schemas"]
    assert {"QueryRequest", "QueryResponse", "Source", "ErrorResponse"} <= set(schemas)
    assert schemas["QueryRequest"]["required"] == ["question"]


def test_refuses_to_start_without_keys(make_settings) -> None:
    with pytest.raises(ConfigError, match="COCUS_API_KEYS"):
        create_app(make_settings(api_keys=""))
    proc = subprocess.run([sys.executable, "-m", "cocus_rag", "serve"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "COCUS_API_KEYS" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_auth_disabled_is_open_and_warns(make_client, caplog) -> None:
    with caplog.at_level("WARNING", logger="cocus_rag"):
        client = make_client(api_keys="", auth_disabled=True)
    assert client.post("/v1/query", json=Q).status_code == 200
    assert any("authentication is DISABLED" in r.getMessage() for r in caplog.records)


def test_settings_read_platform_variables(monkeypatch) -> None:
    monkeypatch.setenv("PORT", "9191")
    monkeypatch.setenv("COCUS_API_KEYS", " a , b ,")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    s = Settings()
    assert s.port == 9191 and s.api_key_list == ["a", "b"] and s.redis_url is not None
    assert "redis://" not in repr(s) and "'a'" not in repr(s)


def test_auth_disabled_with_keys_still_enforces_them(make_client, caplog) -> None:
    with caplog.at_level("WARNING", logger="cocus_rag"):
        client = make_client(auth_disabled=True)
    assert client.post("/v1/query", json=Q).status_code == 401
    assert client.post("/v1/query", json=Q, headers=auth()).status_code == 200
    assert any("is ignored" in r.getMessage() for r in caplog.records)

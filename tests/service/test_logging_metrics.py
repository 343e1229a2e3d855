"""Cloud Logging JSON access lines and Prometheus metric names."""

from __future__ import annotations

import json

import pytest
from cocus_rag.logs import parse_trace

from .conftest import API_KEY, auth

Q = {"question": "How do I compute the SHA-256 digest of some bytes?"}
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def log_lines(capture_json_logs):
    return capture_json_logs("cocus_rag.access")


def test_one_json_line_per_request_in_cloud_logging_shape(make_client, log_lines) -> None:
    client = make_client(google_cloud_project="proj-1")
    client.post("/v1/query", json=Q, headers={**auth(), "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
                                              "User-Agent": "pytest-agent"})
    client.get("/healthz", headers={"X-Cloud-Trace-Context": f"{TRACE.upper()}/12345;o=0"})
    client.post("/v1/query", json=Q, headers={"X-API-Key": "bad-" + API_KEY})
    query, health, denied = log_lines()
    assert query["severity"] == "INFO" and query["message"].startswith("POST /v1/query 200 ")
    req = query["httpRequest"]
    assert req["requestMethod"] == "POST" and req["status"] == 200 and req["requestUrl"] == "/v1/query"
    assert req["latency"].endswith("s") and float(req["latency"][:-1]) > 0
    assert req["userAgent"] == "pytest-agent" and int(req["responseSize"]) > 100
    assert query["logging.googleapis.com/trace"] == f"projects/proj-1/traces/{TRACE}"
    assert query["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"
    assert query["logging.googleapis.com/trace_sampled"] is True
    assert health["logging.googleapis.com/trace"] == f"projects/proj-1/traces/{TRACE}"
    assert health["logging.googleapis.com/spanId"] == format(12345, "016x")
    assert denied["severity"] == "WARNING" and denied["httpRequest"]["status"] == 401
    text = json.dumps(log_lines())
    assert "SHA-256" not in text and API_KEY not in text  # no question text, never a key


def test_question_text_only_when_enabled(make_client, log_lines) -> None:
    make_client(log_questions=True).post("/v1/query", json=Q, headers=auth())
    assert log_lines()[-1]["question"] == Q["question"]


def test_trace_header_parsing() -> None:
    assert parse_trace({}, "p") == {}
    assert parse_trace({"traceparent": "garbage"}, "p") == {}
    assert parse_trace({"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"}, "p") == {}
    assert parse_trace({"x-cloud-trace-context": TRACE}, "")["logging.googleapis.com/trace"] == TRACE


def test_metric_names_and_labels(client) -> None:
    client.post("/v1/query", json=Q, headers=auth())
    client.post("/v1/query", json=Q)
    text = client.get("/metrics").text
    for name in ("cocus_http_request_duration_seconds_bucket", "cocus_retrieval_duration_seconds_count",
                 "cocus_retrieval_batch_size_count",
                 "cocus_generation_duration_seconds_count", "cocus_index_chunks", "cocus_index_documents",
                 "cocus_build_info", "cocus_ready 1.0", "cocus_auth_failures_total 1.0",
                 "cocus_http_requests_in_flight", "process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_start_time_seconds"):
        assert name in text, name
    assert 'cocus_http_request_duration_seconds_count{method="POST",route="/v1/query",status="200"} 1.0' in text
    assert 'cocus_http_request_duration_seconds_count{method="POST",route="/v1/query",status="401"} 1.0' in text
    assert 'embedding_model="test-minilm-int8@' in text and 'retrieval_mode="hybrid"' in text
    client.get("/no/such/path/123")
    assert 'route="unmatched",status="404"' in client.get("/metrics").text


def test_metrics_on_their_own_port_are_not_served_to_users(make_client) -> None:
    import urllib.request

    from .conftest import free_port

    port = free_port()
    client = make_client(metrics_port=port, host="127.0.0.1")
    client.post("/v1/query", json=Q, headers=auth())
    assert client.get("/metrics").status_code == 404  # the serving port: what users (and the internet) reach
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert 'cocus_http_request_duration_seconds_count{method="POST",route="/v1/query",status="200"} 1.0' in text


def test_the_metrics_port_must_differ_from_the_serving_port(make_settings) -> None:
    from cocus_rag.config import ConfigError

    with pytest.raises(ConfigError, match="COCUS_METRICS_PORT must differ from PORT"):
        make_settings(metrics_port=8080, port=8080).check()

"""The service's JSON log lines against Cloud Logging's structured fields, and the monitoring module's
log-based metric filters (evaluated by real terraform) against those lines as Cloud Logging stores them."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from google.logging.type import http_request_pb2, log_severity_pb2
from google.protobuf import json_format

from tests.cloud_logging import extract, ingest, matches

from .conftest import API_KEY, auth, free_port

PROJECT = "proj-1"
SERVICE = "cocus-rag"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
Q = {"question": "How do I compute the SHA-256 digest of some bytes?"}
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "terraform" / "monitoring"
# Keys Cloud Logging reads from a JSON line (cloud.google.com/logging/docs/structured-logging).
SPECIAL_PREFIXED = {"logging.googleapis.com/" + k for k in (
    "trace", "spanId", "trace_sampled", "insertId", "labels", "operation", "sourceLocation")}


@pytest.fixture
def lines(make_client, capture_json_logs, tmp_path) -> list[dict]:
    """Real lines from: a query, a health check, a 401, a 422, a failing generator, Redis down, no index."""
    service_log = capture_json_logs("cocus_rag")
    client = make_client(google_cloud_project=PROJECT)
    client.post("/v1/query", json=Q, headers={**auth(), "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    client.get("/healthz")
    client.post("/v1/query", json=Q, headers={"X-API-Key": "bad-" + API_KEY})
    client.post("/v1/query", json={"question": " "}, headers=auth())
    dead = f"http://127.0.0.1:{free_port()}"
    assert make_client(generator="openai", openai_base_url=dead + "/v1", openai_api_key="k").post(
        "/v1/query", json=Q, headers=auth()).status_code == 502
    assert make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0").post(
        "/v1/query", json=Q, headers=auth()).status_code == 200
    make_client(index_dir=tmp_path / "no-index")
    return service_log()


def test_every_line_uses_cloud_loggings_structured_fields(lines):
    assert len(lines) >= 8
    severities = set(log_severity_pb2.LogSeverity.keys())
    for line in lines:
        assert line["severity"] in severities, line
        assert isinstance(line["message"], str) and line["message"]
        datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert not {k for k in line if k.startswith("logging.googleapis.com/")} - SPECIAL_PREFIXED, line
        if "httpRequest" in line:
            # The official proto: unknown keys or wrong types (status as a string, latency not a Duration,
            # sizes not int64) are errors.
            req = json_format.ParseDict(line["httpRequest"], http_request_pb2.HttpRequest())
            assert req.status == line["httpRequest"]["status"] and req.latency.ToTimedelta().total_seconds() > 0
    traced = [line for line in lines if "logging.googleapis.com/trace" in line]
    assert [t["logging.googleapis.com/trace"] for t in traced] == [f"projects/{PROJECT}/traces/{TRACE}"]
    assert re.fullmatch(r"[0-9a-f]{16}", traced[0]["logging.googleapis.com/spanId"])
    assert traced[0]["logging.googleapis.com/trace_sampled"] is True
    assert {line["severity"] for line in lines} >= {"INFO", "WARNING", "ERROR"}


@pytest.fixture(scope="module")
def module_locals(terraform_bin, tmp_path_factory) -> dict:
    """terraform/modules/monitoring's slo.tf evaluated by terraform (the fixture root module)."""
    work = tmp_path_factory.mktemp("tf")
    env = {"TF_DATA_DIR": str(work / ".terraform"), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
           "PATH": "/usr/local/bin:/usr/bin:/bin"}
    base = [terraform_bin, f"-chdir={FIXTURE}"]
    subprocess.run([*base, "init", "-input=false"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([*base, "apply", "-auto-approve", "-input=false", f"-state={work / 'tfstate'}",
                    f"-var=project_id={PROJECT}", f"-var=service_name={SERVICE}", "-var=max_instances=5"],
                   env=env, check=True, capture_output=True, timeout=120)
    out = subprocess.run([*base, "output", "-json", f"-state={work / 'tfstate'}"], env=env, check=True,
                         capture_output=True, text=True, timeout=60)
    return {k: v["value"] for k, v in json.loads(out.stdout).items()}


def _describe(entry: dict) -> str:
    req = entry.get("httpRequest")
    if req:
        return f"{req['requestMethod']} {req['requestUrl']} {req['status']}"
    return f"{entry['jsonPayload']['logger']}: {entry['jsonPayload']['message'].split(':')[0].split(' (')[0]}"


@pytest.mark.terraform
def test_each_log_based_metric_counts_exactly_its_lines(lines, module_locals):
    entries = [ingest(line, project=PROJECT, service=SERVICE, revision=f"{SERVICE}-00001-abc") for line in lines]
    metrics = module_locals["log_metrics"]
    matched = {key: sorted({_describe(e) for e in entries if matches(m["filter"], e)}) for key, m in metrics.items()}
    assert matched == {
        "api_requests": ["POST /v1/query 200", "POST /v1/query 401", "POST /v1/query 422", "POST /v1/query 502"],
        "api_server_errors": ["POST /v1/query 502"],
        "query_latencies": ["POST /v1/query 200", "POST /v1/query 401", "POST /v1/query 422",
                            "POST /v1/query 502"],
        "generator_errors": ["POST /v1/query 502"],
        "redis_failures": ["cocus_rag.redis: redis ping failed"],  # the query then bypasses (breaker)
        "index_load_failures": ["cocus_rag: index load failed"],
    }
    # The latency distribution records httpRequest.latency in seconds.
    query = next(e for e in entries if matches(metrics["query_latencies"]["filter"], e))
    recorded = extract(metrics["query_latencies"]["value_extractor"], query)
    assert recorded == pytest.approx(float(query["httpRequest"]["latency"][:-1])) and recorded > 0


@pytest.mark.terraform
def test_the_module_derives_its_policies_from_the_slo_file(module_locals):
    from cocusctl.core.observability.slo import load_slo

    spec = load_slo()
    policies = module_locals["burn_rate_policies"]
    assert len(policies) == 8
    page = policies["availability-1h-5m"]
    assert (page["factor"], page["long_s"], page["short_s"], page["duration_s"], page["severity"]) == (
        14.4, 3600, 300, 120, "page")
    ticket = policies["latency-3d-6h"]
    assert (ticket["factor"], ticket["long_s"], ticket["short_s"], ticket["duration_s"]) == (1, 259200, 21600, 900)
    ratio = module_locals["ratio_policies"]
    assert (ratio["error_ratio"]["threshold"], ratio["error_ratio"]["min_rps"], ratio["error_ratio"]["window_s"]) == (
        spec.alerts.error_ratio.threshold, spec.alerts.error_ratio.min_requests_per_second, 300)
    assert (ratio["generator_errors"]["numerator"], ratio["generator_errors"]["min_rps"]) == ("generator_errors", 0)
    assert module_locals["log_event_policies"]["redis_unavailable"]["duration_s"] == 300
    slos = module_locals["slos"]
    assert slos["availability"]["goal"] == spec.slos["availability"].objective
    assert slos["latency"]["threshold_seconds"] == spec.slos["latency"].threshold_seconds
    assert {s["rolling_period_days"] for s in slos.values()} == {30}


def test_the_latency_bounds_are_the_service_histogram_buckets():
    from cocus_rag.metrics import _LATENCY_BUCKETS

    text = (FIXTURE / "slo.tf").read_text()
    bounds = re.search(r"latency_bounds\s*=\s*\[([^\]]*)\]", text)
    assert bounds is not None
    assert [float(b) for b in bounds[1].split(",")] == list(_LATENCY_BUCKETS)

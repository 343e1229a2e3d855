"""The real service on the emulator, scraped by a real Prometheus found through the emulator's target files:
a canary gated on Prometheus metrics stops a candidate that fails 20 % of its queries at the first step, and
then every dashboard expression returns data.

Uses `COCUS_SERVICE_IMAGE=REGISTRY/REPO@sha256:…` when set, else the session's build of the real image.
Load is POST /v1/query on 127.0.0.1, bounded in requests and seconds.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from typer.testing import CliRunner

from tests.promql import as_grafana_sends

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.prometheus, pytest.mark.slow]

API_KEY = "mon-" + os.urandom(8).hex()
QUESTIONS = ["How do I read a file line by line?", "How do I create a virtual environment?",
             "How do I sort a list of dictionaries by a key?"]


@pytest.fixture
def image(request: pytest.FixtureRequest) -> str:
    if os.environ.get("COCUS_SERVICE_IMAGE"):
        return os.environ["COCUS_SERVICE_IMAGE"]
    return request.getfixturevalue("service_image")["pushed_ref"]


@pytest.fixture
def redis_url(redis_server_bin, tmp_path):
    from tests.service.conftest import RedisProcess

    redis = RedisProcess(redis_server_bin, tmp_path)
    redis.start()
    yield redis
    redis.stop()


def _query(prom: str, expr: str) -> list:
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def _post(url: str, key: str) -> int:
    req = urllib.request.Request(url + "/v1/query", data=json.dumps({"question": QUESTIONS[0]}).encode(),
                                 method="POST", headers={"Content-Type": "application/json", "X-API-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - 127.0.0.1 only
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_prometheus_gated_canary_and_every_dashboard_query(tmp_path, monkeypatch, docker_engine, local_registry,
                                                           prometheus_bin, alertmanager_bin, node_exporter_bin,
                                                           image, redis_url):
    from cocusctl.cli import app
    from cocusctl.core.observability import stack
    from cocusctl.core.observability.dashboards import dashboards
    from cocusctl.core.observability.slo import load_slo
    from tests.service.fake_llm import FakeLLM
    from tests.support.cloudrun import LoadGenerator, emulator_process, write_config

    home = tmp_path / "monitoring"
    monkeypatch.setenv("COCUS_MONITORING_HOME", str(home))  # the emulator (a child) writes its targets there
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COCUS_SMOKE_API_KEY", API_KEY)
    # Keys reach the revisions as on Cloud Run: Secret Manager references, resolved by the emulator from the
    # local secret store (a revision's env refuses secret-looking names).
    from cocusctl.core.local_secrets import LocalSecretStore

    monkeypatch.setenv("COCUS_SECRETS_FILE", str(tmp_path / "secrets.json"))
    store = LocalSecretStore(tmp_path / "secrets.json")
    store.add_version("local-staging", "api-keys", API_KEY.encode())
    store.add_version("local-staging", "openai-key", b"test")
    keys = {"COCUS_API_KEYS": {"secret": "api-keys", "version": "1"}}
    llm_key = {"COCUS_OPENAI_API_KEY": {"secret": "openai-key", "version": "1"}}
    service = "mon-" + os.urandom(3).hex()
    runner = CliRunner()
    mon = stack.start(home)
    try:
        with emulator_process(tmp_path / "emu") as emu, FakeLLM(fail_every=5) as llm:
            config = tmp_path / "cocus.yaml"
            # No rate limit: the load and the smoke query share one key (the limit is per key, in Redis).
            base_env = {"COCUS_HOST": "127.0.0.1", "REDIS_URL": redis_url.url, "COCUS_RATE_LIMIT_PER_MINUTE": "0"}

            def deploy(env: dict[str, str], *args: str, secrets: dict | None = None) -> tuple[int, dict]:
                write_config(config, emu.endpoint, service=service, registry=local_registry, memory="1Gi",
                             smoke_query=QUESTIONS[0], ready_timeout_s=240, canary_steps=[10, 50, 100],
                             step_pause_s=20, env={**base_env, **env}, secrets={**keys, **(secrets or {})},
                             analysis={"prometheus_url": mon.prometheus_url, "min_requests": 20})
                res = runner.invoke(app, ["--config", str(config), "deploy", "--env", "local-staging", "--image",
                                          image, "-o", "json", *args])
                return res.exit_code, json.loads(res.stdout)

            code, first = deploy({})
            assert code == 0, first
            stable, url = first["data"]["revision"], first["data"]["url"]
            body = {"question": QUESTIONS[1]}
            headers = {"X-API-Key": API_KEY}
            with LoadGenerator(url, path="/v1/query", json_body=body, headers=headers, threads=2,
                               max_requests=6000, max_seconds=240) as load:
                time.sleep(12)  # a few scrapes of the stable revision under load
                # The candidate: same image, an LLM generator failing every 5th call, no cache (every query
                # reaches the generator). Its smoke query is the LLM's first call, which succeeds.
                code, envelope = deploy({"COCUS_GENERATOR": "openai", "COCUS_OPENAI_BASE_URL": llm.url + "/v1",
                                         "COCUS_CACHE_ENABLED": "false"}, "--strategy", "canary", secrets=llm_key)
            assert code == 11, envelope
            data = envelope["data"]
            candidate = data["revision"]
            [analysis] = data["analysis"]
            assert (analysis["source"], analysis["step_percent"], analysis["verdict"]) == ("prometheus", 10, "fail")
            assert analysis["candidate"]["requests"] >= 20
            assert 0.1 <= analysis["candidate"]["errors"] / analysis["candidate"]["requests"] <= 0.35, analysis
            assert analysis["stable"]["errors"] == 0 and analysis["stable"]["p95_s"] is not None
            assert [(r["revision"], r["percent"]) for r in data["traffic_after"] if r["percent"]] == [(stable, 100)]
            assert set(load.failed_revisions) == {candidate}
            assert 0 < len(load.failures) <= 0.03 * load.total, (len(load.failures), load.total)

            # Redis goes away (errors, bypassed lookups) and a wrong key is refused (401); then every
            # dashboard expression must return data for this service.
            redis_url.stop()
            assert _post(url, "wrong-key") == 401
            with LoadGenerator(url, path="/v1/query", json_body=body, headers=headers, threads=2,
                               max_requests=2000, max_seconds=15):
                time.sleep(12)
            time.sleep(6)  # one more scrape and rule evaluation
            empty = []
            for board in dashboards(load_slo()):
                for title, expr in board.expressions():
                    sent = as_grafana_sends(expr, namespace="local-staging", service=service)
                    if not _query(mon.prometheus_url, sent):
                        empty.append(f"{board.uid} / {title}: {sent}")
            assert empty == []

            targets = json.loads(next((home / "targets").glob("service-cloudrun-emulator-*.json")).read_text())
            labels = {t["labels"]["revision"]: t["labels"] for t in targets}
            assert labels[stable] == {"namespace": "local-staging", "service": service, "revision": stable,
                                      "platform": "cloudrun-emulator"}
            status = stack.status(home)
            assert status is not None and status.targets_up is not None and status.targets_up >= 4
            res = runner.invoke(app, ["--config", str(config), "status", "--env", "local-staging", "-o", "json"])
            assert json.loads(res.stdout)["data"]["monitoring"] == {"prometheus": mon.prometheus_url,
                                                                    "alertmanager": mon.alertmanager_url}
    finally:
        stack.stop(home)
    assert not list((home / "targets").glob("*cloudrun-emulator*"))  # the emulator withdrew its targets

"""Real Redis: answer cache, per-key rate limits, and Redis going away mid-test."""

from __future__ import annotations

import time

import pytest

from .conftest import API_KEY, OTHER_KEY, auth

pytestmark = pytest.mark.redis

Q = {"question": "How do I compute the SHA-256 digest of some bytes?"}


def _metric(client, line_prefix: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_answers_are_cached_per_question_and_index_version(make_client, redis_server) -> None:
    import redis

    client = make_client(redis_url=redis_server.url, cache_ttl_seconds=120, redis_timeout_ms=2000)
    assert client.get("/readyz").json()["redis"] == "up"
    first = client.post("/v1/query", json=Q, headers=auth()).json()
    second = client.post("/v1/query", json={"question": "  how do I compute the sha-256 digest of SOME bytes? "},
                         headers=auth()).json()
    assert first["cached"] is False and second["cached"] is True
    assert second["answer"] == first["answer"] and second["sources"] == first["sources"]
    assert second["timings"]["retrieval_ms"] == 0.0
    r = redis.Redis.from_url(redis_server.url)
    (key,) = r.keys("cocus:answer:*")
    assert key.decode().startswith(f"cocus:answer:{first['index_version']}:hybrid:extractive:5:")
    assert 0 < r.ttl(key) <= 120
    assert _metric(client, 'cocus_cache_requests_total{result="hit"}') == 1.0
    assert _metric(client, 'cocus_cache_requests_total{result="miss"}') == 1.0
    other = client.post("/v1/query", json={**Q, "top_k": 2}, headers=auth()).json()
    assert other["cached"] is False  # top_k is part of the key


def test_rate_limit_is_per_key_with_retry_after(make_client, redis_server) -> None:
    client = make_client(redis_url=redis_server.url, rate_limit_per_minute=3, cache_enabled=False,
                         redis_timeout_ms=2000)
    codes = [client.post("/v1/query", json=Q, headers=auth()).status_code for _ in range(4)]
    if codes[-1] == 200:  # crossed a minute boundary mid-test: the window reset; try once more
        codes = [client.post("/v1/query", json=Q, headers=auth()).status_code for _ in range(4)]
    assert codes.count(429) >= 1 and codes[0] == 200
    resp = client.post("/v1/query", json=Q, headers=auth())
    assert resp.status_code == 429 and resp.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["retry-after"]) <= 61
    assert client.post("/v1/query", json=Q, headers={"X-API-Key": OTHER_KEY}).status_code == 200
    import redis

    keys = [k.decode() for k in redis.Redis.from_url(redis_server.url).keys("cocus:rl:*")]
    assert len(keys) == 2 and not any(API_KEY in k or OTHER_KEY in k for k in keys)


def test_redis_down_mid_test_keeps_answering(make_client, redis_server, caplog) -> None:
    client = make_client(redis_url=redis_server.url, redis_timeout_ms=100, redis_backoff_seconds=0.5)
    assert client.post("/v1/query", json=Q, headers=auth()).json()["cached"] is False
    assert client.post("/v1/query", json=Q, headers=auth()).json()["cached"] is True
    redis_server.stop()
    with caplog.at_level("WARNING", logger="cocus_rag.redis"):
        started = time.monotonic()
        for _ in range(6):
            resp = client.post("/v1/query", json=Q, headers=auth())
            assert resp.status_code == 200 and resp.json()["cached"] is False
            time.sleep(0.1)
        elapsed = time.monotonic() - started
    assert elapsed < 10
    errors = sum(_metric(client, f'cocus_redis_errors_total{{operation="{op}"}}')
                 for op in ("get", "set", "ratelimit"))
    assert errors >= 1
    # every request after the first failure skipped the cache instead of waiting on Redis
    assert _metric(client, 'cocus_cache_requests_total{result="bypass"}') >= 4
    assert any("bypassing redis" in r.getMessage() for r in caplog.records)
    assert client.get("/readyz").status_code == 200  # Redis is optional: still ready


def test_unreachable_redis_at_start_is_not_fatal(make_client) -> None:
    from .conftest import free_port

    client = make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_per_minute=100)
    resp = client.post("/v1/query", json=Q, headers=auth())
    assert resp.status_code == 200
    assert client.get("/readyz").json()["redis"] == "bypassed"

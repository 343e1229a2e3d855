"""Optional Redis: answer cache and per-key rate limiting that never fail a request.

Every Redis call has short socket timeouts. On an error the call is counted
(``cocus_redis_errors_total``), logged, and Redis is skipped for ``backoff`` seconds — the
cache is bypassed and rate limiting falls back to a per-process window.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .metrics import Metrics

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("cocus_rag.redis")


def question_key(question: str) -> str:
    normalised = " ".join(question.lower().split())
    return hashlib.sha256(normalised.encode()).hexdigest()


class RedisGate:
    """Wraps an async Redis client with a circuit breaker."""

    def __init__(self, url: str | None, timeout_ms: int, backoff_seconds: float, metrics: Metrics) -> None:
        self.metrics = metrics
        self.backoff = backoff_seconds
        self._down_until = 0.0
        self.client: Redis | None = None
        if url:
            import redis.asyncio as aioredis

            timeout = timeout_ms / 1000
            self.client = aioredis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False,
                health_check_interval=0, decode_responses=False)

    @property
    def configured(self) -> bool:
        return self.client is not None

    def available(self) -> Redis | None:
        """The client when Redis is configured and not in its back-off window, else None."""
        if self.client is None or time.monotonic() < self._down_until:
            return None
        return self.client

    def failed(self, operation: str, exc: BaseException) -> None:
        self.metrics.redis_errors.labels(operation).inc()
        first = time.monotonic() >= self._down_until
        self._down_until = time.monotonic() + self.backoff
        if first:
            log.warning("redis %s failed (%s); bypassing redis for %.1fs", operation, type(exc).__name__,
                        self.backoff)

    async def ping(self) -> bool:
        if self.client is None:
            return False
        try:
            return bool(await self.client.ping())
        except Exception as exc:  # noqa: BLE001 - any redis/network failure means "not available"
            self.failed("ping", exc)
            return False

    async def close(self) -> None:
        if self.client is not None:
            try:
                await self.client.aclose()
            except Exception:  # noqa: BLE001
                pass


class AnswerCache:
    def __init__(self, gate: RedisGate, ttl_seconds: int, enabled: bool, metrics: Metrics) -> None:
        self.gate = gate
        self.ttl = ttl_seconds
        self.enabled = enabled and gate.configured
        self.metrics = metrics

    @staticmethod
    def key(question: str, index_version: str, retrieval_mode: str, generator: str, top_k: int) -> str:
        return f"cocus:answer:{index_version}:{retrieval_mode}:{generator}:{top_k}:{question_key(question)}"

    async def get(self, key: str) -> dict | None:
        if not self.enabled:
            return None
        client = self.gate.available()
        if client is None:
            self.metrics.cache.labels("bypass").inc()
            return None
        try:
            raw = await client.get(key)
        except Exception as exc:  # noqa: BLE001
            self.gate.failed("get", exc)
            self.metrics.cache.labels("bypass").inc()
            return None
        if raw is None:
            self.metrics.cache.labels("miss").inc()
            return None
        self.metrics.cache.labels("hit").inc()
        return json.loads(raw)

    async def set(self, key: str, value: dict) -> None:
        client = self.gate.available()
        if not self.enabled or client is None:
            return
        try:
            await client.set(key, json.dumps(value).encode(), ex=self.ttl)
        except Exception as exc:  # noqa: BLE001
            self.gate.failed("set", exc)


@dataclass
class RateDecision:
    allowed: bool
    retry_after: int
    remaining: int


class RateLimiter:
    """Fixed one-minute windows per key: Redis ``INCR`` + ``EXPIRE``, local counters as fallback."""

    def __init__(self, gate: RedisGate, per_minute: int) -> None:
        self.gate = gate
        self.limit = per_minute
        self._local: dict[tuple[str, int], int] = {}

    def _local_hit(self, principal: str, window: int) -> int:
        if len(self._local) > 10_000:
            self._local = {k: v for k, v in self._local.items() if k[1] >= window}
        k = (principal, window)
        self._local[k] = self._local.get(k, 0) + 1
        return self._local[k]

    async def hit(self, principal: str) -> RateDecision:
        if self.limit <= 0:
            return RateDecision(True, 0, -1)
        now = time.time()
        window = int(now // 60)
        retry_after = max(1, int(60 - (now % 60)) + 1)
        count: int | None = None
        client = self.gate.available()
        if client is not None:
            key = f"cocus:rl:{principal}:{window}"
            try:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, 61)
                    count = int((await pipe.execute())[0])
            except Exception as exc:  # noqa: BLE001
                self.gate.failed("ratelimit", exc)
        if count is None:
            count = self._local_hit(principal, window)
        return RateDecision(count <= self.limit, retry_after, max(0, self.limit - count))

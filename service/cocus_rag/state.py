"""Everything the routes need, built once per app in the lifespan."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from .batching import RetrievalBatcher
from .cache import AnswerCache, RateLimiter, RedisGate
from .config import Settings
from .generation import Generator, build_generator
from .generation.extractive import ExtractiveGenerator
from .loader import load
from .metrics import Metrics
from .retrieval.index import Index

log = logging.getLogger("cocus_rag")


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    gate: RedisGate
    cache: AnswerCache
    limiter: RateLimiter
    generator: Generator
    index: Index | None = None
    retriever: RetrievalBatcher | None = None
    load_error: str | None = None
    load_seconds: float | None = None
    preload: Future | None = None
    _loaded: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def create(cls, settings: Settings, preload: Future | None = None) -> Services:
        metrics = Metrics()
        url = settings.redis_url.get_secret_value() if settings.redis_url else None
        gate = RedisGate(url, settings.redis_timeout_ms, settings.redis_backoff_seconds, metrics)
        return cls(settings=settings, metrics=metrics, gate=gate,
                   cache=AnswerCache(gate, settings.cache_ttl_seconds, settings.cache_enabled, metrics),
                   limiter=RateLimiter(gate, settings.rate_limit_per_minute),
                   generator=build_generator(settings), preload=preload)

    @property
    def ready(self) -> bool:
        return self.index is not None

    def load_index(self) -> None:
        t0 = time.perf_counter()
        try:
            if self.preload is not None:
                index, seconds = self.preload.result()
            else:
                index, seconds = load(self.settings.model_dir, self.settings.index_dir)
            if isinstance(self.generator, ExtractiveGenerator):
                self.generator.idf = index.bm25.idf
        except Exception as exc:  # noqa: BLE001 - reported by /readyz and the log, the process stays up
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("index load failed: %s", self.load_error)
            self.metrics.ready.set(0)
            return
        finally:
            self._loaded.set()
        self.index = index
        self.retriever = RetrievalBatcher(index, self.settings.retrieval_mode, self.metrics.retrieval_batch)
        self.load_seconds = round(seconds, 3)
        m = self.metrics
        m.index_chunks.set(index.n_chunks)
        m.index_documents.set(index.n_documents)
        m.build_info.info({"version": self.settings.version, "git_revision": self.settings.git_revision,
                           "index_version": index.version, "embedding_model": index.model_id,
                           "retrieval_mode": self.settings.retrieval_mode, "generator": self.generator.name})
        m.ready.set(1)
        log.info("index %s loaded: %d chunks from %d documents in %.3fs", index.version, index.n_chunks,
                 index.n_documents, self.load_seconds,
                 extra={"cloud": {"waited_after_startup_s": round(time.perf_counter() - t0, 3)}})

    async def start(self) -> None:
        threading.Thread(target=self.load_index, name="index-loader", daemon=True).start()

    async def wait_loaded(self, timeout: float) -> bool:
        return await asyncio.to_thread(self._loaded.wait, timeout)

    async def close(self) -> None:
        if self.retriever is not None:
            self.retriever.close()
        await self.generator.aclose()
        await self.gate.close()


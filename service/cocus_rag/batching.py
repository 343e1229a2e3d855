"""Retrieval off the event loop, with concurrent questions searched together.

Embedding a question (ONNX Runtime) and scoring it against every chunk (one matrix product) release
the GIL, so they run on one worker thread while the event loop keeps parsing and answering HTTP on
the other core. Questions that arrive while a search runs wait for the next one and are searched as
a batch: one pass over the chunk matrix (a matrix product instead of one matrix-vector product each).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import Histogram

from .retrieval.index import Hit, Index, Mode


class RetrievalBatcher:
    def __init__(self, index: Index, mode: Mode, batch_sizes: Histogram, max_batch: int = 32) -> None:
        self.index = index
        self.mode = mode
        self.batch_sizes = batch_sizes
        self.max_batch = max_batch
        self._pending: list[tuple[str, int, asyncio.Future]] = []
        self._lock = threading.Lock()
        self._draining = False
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retrieval")

    async def search(self, question: str, top_k: int) -> list[Hit]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        with self._lock:
            self._pending.append((question, top_k, future))
            start = not self._draining
            self._draining = True
        if start:
            loop.run_in_executor(self._worker, self._drain, loop)
        return await future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
                if not batch:
                    self._draining = False
                    return
            self.batch_sizes.observe(len(batch))
            try:
                results = self.index.search_many([q for q, _, _ in batch], top_k=max(k for _, k, _ in batch),
                                                 mode=self.mode)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                for _, _, future in batch:
                    loop.call_soon_threadsafe(_settle, future, None, exc)
                continue
            for (_, k, future), hits in zip(batch, results, strict=True):
                loop.call_soon_threadsafe(_settle, future, hits[:k], None)

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)


def _settle(future: asyncio.Future, hits: list[Hit] | None, exc: BaseException | None) -> None:
    if future.done():  # the request was cancelled (client went away)
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(hits)

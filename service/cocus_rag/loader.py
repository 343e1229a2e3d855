"""Load the embedding model and the index (onnxruntime, numpy, tokenizers; no web framework imports).

``python -m cocus_rag serve`` starts this in a thread before importing FastAPI and uvicorn, so the
index loads while the framework imports (file reads and numpy conversions release the GIL).
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from pathlib import Path
from threading import Thread


def load(model_dir: Path, index_dir: Path):
    from .embedding.onnx_model import OnnxEmbedder
    from .retrieval.index import Index

    t0 = time.perf_counter()
    index = Index.load(index_dir, OnnxEmbedder(model_dir))
    index.search("warm up the index", top_k=1)  # first-call costs are paid before readiness
    return index, time.perf_counter() - t0


def start_background_load(model_dir: Path, index_dir: Path) -> Future:
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(load(model_dir, index_dir))
        except BaseException as exc:  # noqa: BLE001 - delivered to whoever waits on the future
            future.set_exception(exc)

    Thread(target=run, name="index-preload", daemon=True).start()
    return future

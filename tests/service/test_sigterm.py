"""A real uvicorn process under concurrent requests receives SIGTERM: every in-flight request
completes, new connections are refused, the process exits 0 within the grace period."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from .conftest import API_KEY, free_port
from .fake_llm import FakeLLM

pytestmark = pytest.mark.slow


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server never became ready")


@pytest.mark.parametrize("grace", [8])
def test_sigterm_drains_in_flight_requests_and_exits_zero(onnx_model, index_dir, grace) -> None:
    port = free_port()
    with FakeLLM(answer="slow answer [1]", delay=1.5) as llm:
        env = {**os.environ, "PORT": str(port), "COCUS_HOST": "127.0.0.1", "COCUS_API_KEYS": API_KEY,
               "COCUS_INDEX_DIR": str(index_dir), "COCUS_MODEL_DIR": str(onnx_model),
               "COCUS_GENERATOR": "openai", "COCUS_OPENAI_BASE_URL": llm.url + "/v1",
               "COCUS_GRACEFUL_TIMEOUT": str(grace), "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen([sys.executable, "-m", "cocus_rag", "serve"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            _wait_ready(port, proc)
            results: list[int | str] = []
            lock = threading.Lock()

            def call(i: int) -> None:
                try:
                    r = httpx.post(f"http://127.0.0.1:{port}/v1/query", timeout=20,
                                   json={"question": f"How do I compute a SHA-256 digest? #{i}"},
                                   headers={"X-API-Key": API_KEY})
                    out: int | str = r.status_code if r.json().get("answer") == "slow answer [1]" else r.text
                except httpx.HTTPError as exc:
                    out = repr(exc)
                with lock:
                    results.append(out)

            threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 10
            while len(llm.requests) < 12 and time.monotonic() < deadline:  # all 12 are in flight upstream
                time.sleep(0.02)
            assert len(llm.requests) == 12
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            with pytest.raises(httpx.ConnectError):  # no longer accepting
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            for t in threads:
                t.join(20)
            rc = proc.wait(grace + 5)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        output = proc.stdout.read() if proc.stdout else ""
    assert results == [200] * 12, results
    assert rc == 0, output
    assert took < grace + 2
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert all({"severity", "message", "time"} <= set(entry) for entry in lines)
    assert sum(1 for e in lines if e.get("httpRequest", {}).get("requestUrl") == "/v1/query") == 12
    assert API_KEY not in output

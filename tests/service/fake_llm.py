"""A real HTTP server (stdlib, threaded) speaking the OpenAI chat-completions and Vertex
generateContent wire formats, recording what it received."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    def __init__(self, answer: str = "Use hashlib.sha256(data).hexdigest() [1].", delay: float = 0.0,
                 status: int = 200, fail_every: int = 0) -> None:
        self.answer = answer
        self.delay = delay
        self.status = status
        self.fail_every = fail_every  # > 0: every n-th generation call answers 500 (the first succeeds)
        self._calls = 0
        self._lock = threading.Lock()
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - the GCE metadata server token endpoint
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": None})
                if (self.path != "/computeMetadata/v1/instance/service-accounts/default/token"
                        or self.headers.get("Metadata-Flavor") != "Google"):
                    self.send_error(404)
                    return
                raw = json.dumps({"access_token": "ya29.metadata-token", "expires_in": 3599,
                                  "token_type": "Bearer"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if fake.delay:
                    time.sleep(fake.delay)
                with fake._lock:
                    fake._calls += 1
                    failing = fake.status != 200 or bool(fake.fail_every and fake._calls % fake.fail_every == 0)
                if failing:
                    payload = {"error": {"message": "upstream exploded"}}
                elif self.path.endswith("/chat/completions"):
                    payload = {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": fake.answer}}],
                               "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
                elif ":generateContent" in self.path:
                    payload = {"candidates": [{"content": {"role": "model", "parts": [{"text": fake.answer}]},
                                               "finishReason": "STOP"}]}
                else:
                    self.send_error(404)
                    return
                raw = json.dumps(payload).encode()
                self.send_response(500 if failing and fake.status == 200 else fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

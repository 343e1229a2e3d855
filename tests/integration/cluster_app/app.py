"""A tiny HTTP service for the local cluster's tests, with the behaviours a rollout must handle.

It binds to $HOST (the pod IP, from the downward API) and $PORT. /readyz fails until $READY_AFTER
seconds have passed; every answer says whether a readiness probe had already been answered 200 (so a
request that reached the pod before its readiness passed is visible). /burn burns CPU (for the HPA);
after /sick, /healthz fails (liveness). $CRASH_AFTER makes it exit 1 after that many seconds. On SIGTERM
it stops accepting, finishes what is in flight and exits 0 — unless $IGNORE_SIGTERM is set.
"""

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STARTED = time.monotonic()
READY_AFTER = float(os.environ.get("READY_AFTER", "0"))
VERSION = os.environ.get("APP_VERSION", "?")
POD = os.environ.get("POD_NAME", "?")
probe_passed = threading.Event()
sick = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._send(500 if sick.is_set() else 200, {"ok": not sick.is_set()})
        elif url.path == "/sick":
            sick.set()
            self._send(200, {"pod": POD, "sick": True})
        elif url.path == "/readyz":
            ready = time.monotonic() - STARTED >= READY_AFTER
            if ready and "kube-probe" in self.headers.get("User-Agent", ""):
                probe_passed.set()
            self._send(200 if ready else 503, {"ready": ready})
        elif url.path == "/burn":
            ms = min(float(parse_qs(url.query).get("ms", ["100"])[0]), 1000.0)
            end = time.process_time() + ms / 1000
            while time.process_time() < end:
                pass
            self._send(200, {"pod": POD, "burned_ms": ms})
        else:
            self._send(200, {"pod": POD, "version": VERSION, "probe_passed": probe_passed.is_set(),
                             "host": os.environ.get("HOST", "")})


def main():
    server = ThreadingHTTPServer((os.environ["HOST"], int(os.environ.get("PORT", "8080"))), Handler)
    server.daemon_threads = False
    print(f"{POD} version {VERSION} listening on {server.server_address}", flush=True)
    crash_after = os.environ.get("CRASH_AFTER")
    if crash_after:
        time.sleep(float(crash_after))
        print("fatal: crash mode, exiting with status 1", file=sys.stderr, flush=True)
        os._exit(1)

    def on_term(signum, frame):
        if os.environ.get("IGNORE_SIGTERM"):
            print("SIGTERM: ignored", flush=True)
            return
        print("SIGTERM: finishing requests in flight", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_term)
    server.serve_forever()
    server.server_close()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()

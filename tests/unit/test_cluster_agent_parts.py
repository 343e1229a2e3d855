"""Node agent parts that need no cluster: label selectors, Service backends, probe thresholds, pod IPs."""

from __future__ import annotations

import http.server
import threading

import pytest

from cocusctl.nodeagent.agent import IpPool
from cocusctl.nodeagent.metrics import matches
from cocusctl.nodeagent.probes import ProbeState, check
from cocusctl.nodeagent.proxy import backends_for

LABELS = {"app": "web", "tier": "api", "pod-template-hash": "abc"}


@pytest.mark.parametrize(("selector", "expected"), [
    ("", True), ("app=web", True), ("app==web,tier=api", True), ("app!=web", False), ("app in (web, db)", True),
    ("app notin (web)", False), ("tier", True), ("!tier", False), ("missing", False), ("!missing", True),
    ("app=web,tier in (api,batch),!canary", True),
])
def test_label_selectors(selector, expected):
    assert matches(selector, LABELS) is expected


def test_bad_selector_is_rejected():
    with pytest.raises(ValueError, match="unable to parse"):
        matches("app=(web", LABELS)


def test_backends_are_ready_non_terminating_and_not_leaving():
    slices = [{
        "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}],
        "endpoints": [
            {"addresses": ["127.10.0.2"], "conditions": {"ready": True}},
            {"addresses": ["127.10.0.3"], "conditions": {"ready": False}},
            {"addresses": ["127.10.0.4"], "conditions": {"ready": True, "terminating": True}},
            {"addresses": ["127.10.0.5"], "conditions": {}},
            {"addresses": ["127.10.0.6"], "conditions": {"ready": True}},
        ],
    }, {"ports": [{"name": "other", "port": 1}], "endpoints": [{"addresses": ["127.10.0.9"]}]}]
    got = backends_for({"name": "http", "port": 80}, slices, leaving={"127.10.0.6"})
    assert got == (("127.10.0.2", 8080), ("127.10.0.5", 8080))


def test_probe_thresholds():
    state = ProbeState({"periodSeconds": 1, "failureThreshold": 2, "successThreshold": 2, "initialDelaySeconds": 5},
                       started_at=100.0)
    assert not state.due(104.9) and state.due(105.0)
    assert state.record(True, 105) is None
    assert state.record(True, 106) is True
    assert state.record(False, 107) is True
    assert state.record(False, 108) is False
    assert state.next_at == 109


def test_http_probe_against_a_real_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/ok" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    container = {"ports": [{"name": "http", "containerPort": server.server_port}]}
    try:
        assert check({"httpGet": {"path": "/ok", "port": "http"}}, container, "127.0.0.1", lambda a, t: 1)[0]
        ok, message = check({"httpGet": {"path": "/no", "port": "http"}}, container, "127.0.0.1", lambda a, t: 1)
        assert not ok and "503" in message
        assert check({"exec": {"command": ["true"]}}, container, "127.0.0.1", lambda argv, t: 0)[0]
    finally:
        server.shutdown()


def test_ip_pool_skips_the_first_address_and_does_not_reuse_at_once():
    pool = IpPool("127.20.0.0/29")   # hosts .1-.6; .1 stays free
    first = pool.take()
    assert first == "127.20.0.2"
    pool.release(first)
    assert pool.take() == "127.20.0.3"
    assert pool.take("127.20.0.6") == "127.20.0.6"
    assert [pool.take() for _ in range(3)] == ["127.20.0.4", "127.20.0.5", "127.20.0.2"]
    with pytest.raises(RuntimeError, match="no free address"):
        pool.take()

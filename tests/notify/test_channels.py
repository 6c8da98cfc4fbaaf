"""The HTTP channels against a real HTTP/1.1 server: connections kept between notices, a connection
the gateway closed while idle survived, and each answer mapped to transient or permanent."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notify_svc.channels import PermanentFailure, Sms, TransientFailure


class Gateway(ThreadingHTTPServer):
    """Answers each POST with the next of `codes` (200 when none is left), counting connections;
    `idle_seconds` set, it drops a connection idle that long without a word (`dropped` is set)."""

    daemon_threads = True

    def __init__(self):
        self.codes: list[int] = []
        self.connections = 0
        self.received: list[tuple[str, dict]] = []
        self.idle_seconds: float | None = None
        self.dropped = threading.Event()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        with self.lock:
            self.connections += 1
        return super().get_request()

    def shutdown_request(self, request):
        super().shutdown_request(request)
        self.dropped.set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the server says otherwise

    def setup(self):
        self.timeout = self.server.idle_seconds
        super().setup()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            code = self.server.codes.pop(0) if self.server.codes else 200
            self.server.received.append((self.headers.get("Idempotency-Key"), body))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = Gateway()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def sms(gateway: Gateway) -> Sms:
    return Sms(f"http://127.0.0.1:{gateway.server_port}/sms", token="t0ken")


def test_notices_share_one_kept_connection(gateway):
    channel = sms(gateway)
    for n in range(5):
        channel.send("13900000001", "受理回执", f"第{n}条", key=f"k{n}")
    assert [key for key, _ in gateway.received] == ["k0", "k1", "k2", "k3", "k4"]
    assert gateway.received[0][1] == {"to": "13900000001", "text": "【受理回执】第0条"}
    assert gateway.connections == 1


def test_a_connection_the_gateway_dropped_while_idle_is_replaced_and_the_notice_sent_once(gateway):
    gateway.idle_seconds = 0.2
    channel = sms(gateway)
    channel.send("13900000002", "办结通知", "已办结", key="c0")
    assert gateway.dropped.wait(5), "the gateway did not drop the idle connection"
    channel.send("13900000002", "办结通知", "已办结", key="c1")
    assert [key for key, _ in gateway.received] == ["c0", "c1"]
    assert gateway.connections == 2


def test_answers_map_to_transient_or_permanent_failures(gateway):
    channel = sms(gateway)
    gateway.codes = [503, 429, 400, 301]
    with pytest.raises(TransientFailure, match="HTTP 503"):
        channel.send("13900000003", "s", "b", key="a")
    with pytest.raises(TransientFailure, match="HTTP 429"):
        channel.send("13900000003", "s", "b", key="a")
    with pytest.raises(PermanentFailure, match="HTTP 400"):
        channel.send("13900000003", "s", "b", key="a")
    with pytest.raises(PermanentFailure, match="HTTP 301"):
        channel.send("13900000003", "s", "b", key="a")
    assert len(gateway.received) == 4  # an answer is never retried here: the sender counts attempts


def test_a_gateway_that_is_not_there_is_a_transient_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(TransientFailure):
        Sms(f"http://127.0.0.1:{port}/sms").send("13900000004", "s", "b", key="x")

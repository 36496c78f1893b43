"""A local webhook receiver for tests: an HTTP server in a thread that verifies every request the way a
user's receiver would, with `standardwebhooks.Webhook(secret).verify(body, headers)`.

It records verified deliveries (webhook-id, type, body, headers) and rejected ones (why), and answers a
scripted sequence of status codes (`script(500, 200)`: the first request gets 500, the next 200, then the
default) or waits before answering (`slow = 2.0`). A rejected signature is answered 401.

    def test_x(webhook_receiver):
        webhook_receiver.secret = created.secret
        ... deliver to webhook_receiver.url ...
        assert [d.type for d in webhook_receiver.wait_for(1)] == ["position.closed"]
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass(frozen=True)
class Received:
    webhook_id: str
    type: str
    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    status: int  # what the receiver answered


@dataclass(frozen=True)
class Rejected:
    reason: str
    headers: dict[str, str]
    path: str


class WebhookReceiver:
    """The server and what it saw; thread-safe. `secret` may change while it runs (rotation tests)."""

    def __init__(self, secret: str | None = None, default_status: int = 200) -> None:
        self.secret = secret
        self.default_status = default_status
        self.slow = 0.0
        self.received: list[Received] = []
        self.rejected: list[Rejected] = []
        self.requests = 0
        self._script: deque[int] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def script(self, *statuses: int) -> None:
        """Answer the next requests with these codes, in order, then with `default_status`."""
        with self._lock:
            self._script.extend(statuses)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, deadline_s: float = 10, rejected: bool = False) -> list[Any]:
        """Poll until at least `count` verified (or rejected) requests arrived; fail the test otherwise."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            with self._lock:
                seen = list(self.rejected if rejected else self.received)
            if len(seen) >= count:
                return seen
            time.sleep(0.02)
        pytest.fail(f"webhook receiver: {len(seen)} of {count} {'rejected' if rejected else 'verified'}")

    def _answer(self, body: bytes, headers: dict[str, str], path: str) -> int:
        with self._lock:
            self.requests += 1
            status = self._script.popleft() if self._script else self.default_status
            secret = self.secret
        try:
            if not secret:
                raise WebhookVerificationError("the receiver has no secret")
            document = Webhook(secret).verify(body, headers)
        except (WebhookVerificationError, ValueError) as e:
            with self._lock:
                self.rejected.append(Rejected(str(e), headers, path))
            return 401
        if self.slow:
            time.sleep(self.slow)
        got = Received(
            headers.get("webhook-id", ""), document.get("type", ""), document, headers, path, status
        )
        with self._lock:
            self.received.append(got)
        return status


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender went away mid-request (a killed consumer): nothing was delivered, and like
                # any HTTP server the receiver drops the incomplete request instead of judging its half.
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver._answer(body, headers, self.path)
            payload = json.dumps({"status": status}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the sender gave up waiting (the slow tests)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A running receiver on 127.0.0.1; set `.secret` to the endpoint's before delivering."""
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()

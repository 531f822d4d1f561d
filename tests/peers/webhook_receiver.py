"""A webhook receiver on 127.0.0.1 for tests: verifies every signature as the README tells receivers to."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as the receiver saw it."""

    at: float
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON body."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request with the next scripted reply ((status, delay_s); the last one repeats)."""

    secret: str = ""
    replies: list[tuple[int, float]] = field(default_factory=lambda: [(200, 0.0)])
    received: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        """The documented check: HMAC-SHA256(secret, f"{timestamp}.{body}") in hex, as ``v1=<hex>``."""
        timestamp = headers.get("trunkline-timestamp", "")
        given = headers.get("trunkline-signature", "")
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        return fresh and hmac.compare_digest(given, f"v1={expected}")

    def wait_for(self, done: Callable[[list[Received]], bool], timeout: float = 20.0) -> list[Received]:
        """Poll what arrived until ``done`` says so or ``timeout`` passes; returns a copy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                seen = list(self.received)
            if done(seen):
                return seen
            time.sleep(0.05)
        with self.lock:
            return list(self.received)


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    """Serve ``receiver`` on a free 127.0.0.1 port for the block; ``receiver.url`` is set."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                n = len(receiver.received)
                status, delay = receiver.replies[min(n, len(receiver.replies) - 1)]
                receiver.received.append(Received(time.time(), headers, body, receiver.verify(headers, body)))
            time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(f"reply {n + 1}: {status}".encode())
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

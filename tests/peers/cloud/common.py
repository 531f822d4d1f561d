"""What every local cloud stand-in shares: request records, a test tone and a background uvicorn runner."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
from litestar import Litestar, Request

LOOPBACK = "127.0.0.1"


@dataclass
class RecordedRequest:
    """One request a stand-in received, kept so a test can assert on what the provider sent."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)
    messages: list[Any] = field(default_factory=list)
    """Websocket messages from the client, in order: bytes for audio, parsed JSON for text."""

    @property
    def audio(self) -> bytes:
        """Every binary websocket message joined."""
        return b"".join(message for message in self.messages if isinstance(message, bytes))

    @property
    def controls(self) -> list[Any]:
        """The text (JSON) websocket messages, in order."""
        return [message for message in self.messages if not isinstance(message, bytes)]


async def record(request: Request[Any, Any, Any], requests: list[RecordedRequest]) -> RecordedRequest:
    """Record an HTTP request (headers lower-cased, body parsed as JSON when it is JSON) and return the record."""
    body = await request.body()
    parsed: Any = None
    if body and "json" in request.headers.get("content-type", ""):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    entry = RecordedRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        headers={key.lower(): value for key, value in request.headers.items()},
        json=parsed,
    )
    requests.append(entry)
    return entry


@functools.lru_cache(maxsize=32)
def tone(sample_rate: int, seconds: float, frequency_hz: float = 440.0, amplitude: float = 0.3) -> bytes:
    """Return a mono s16le sine tone, the default audio every TTS stand-in answers with (cached: benchmarks)."""
    times = np.arange(int(sample_rate * seconds)) / sample_rate
    samples = np.round(32767 * amplitude * np.sin(2 * np.pi * frequency_hz * times))
    return samples.astype("<i2").tobytes()


def chunked(data: bytes, size: int) -> list[bytes]:
    """Split ``data`` into pieces of ``size`` bytes (the last may be shorter)."""
    return [data[start : start + size] for start in range(0, len(data), max(1, size))]


async def paced(pieces: Iterable[bytes], latency_s: float, interval_s: float) -> AsyncIterator[bytes]:
    """Yield ``pieces`` after ``latency_s`` (time to first byte), ``interval_s`` apart."""
    if latency_s:
        await asyncio.sleep(latency_s)
    for number, piece in enumerate(pieces):
        if number and interval_s:
            await asyncio.sleep(interval_s)
        yield piece


def sse(data: Any, event: str | None = None) -> bytes:
    """Encode one server-sent event (``data`` as compact JSON unless it is already a string)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


@contextmanager
def serve(app: Litestar, *, port: int = 0, start_timeout_s: float = 10.0, stop_timeout_s: float = 5.0) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 (on a free port unless ``port`` is given) in a background thread; yield its URL."""
    # Binding here and handing uvicorn the socket leaves no window for another process to take the port.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, port))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        ws_ping_interval=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name=f"stand-in-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"stand-in server on port {port} did not start within {start_timeout_s:g} s")
            time.sleep(0.01)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(stop_timeout_s)
        if thread.is_alive():
            server.force_exit = True
            thread.join(stop_timeout_s)
        listener.close()


def main(name: str, build: Callable[[argparse.Namespace], Any]) -> None:
    """Run one stand-in in the foreground: ``python -m tests.peers.cloud.X --port N --key K``, stopped by SIGTERM.

    ``build`` turns the parsed arguments (port, key, latency, text) into the stand-in's settings object. Once the
    server listens, a line ``READY http://127.0.0.1:PORT`` goes to stdout.
    """
    parser = argparse.ArgumentParser(prog=f"python -m tests.peers.cloud.{name}", description=f"local {name} stand-in")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--key", default=None, help="the only API key accepted (default: the stand-in's own)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before the first byte of every answer")
    parser.add_argument("--text", default=None, help="the reply or transcript to answer with")
    args = parser.parse_args()
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    with serve(build(args).app(), port=args.port) as url:
        print(f"READY {url}", flush=True)
        stop.wait()

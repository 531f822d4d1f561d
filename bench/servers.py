"""Processes the voice benchmarks start: the conversation server, the zero-latency protocol server, and the
caller's own SIP engine; each stops by its own process id."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from bench.sip_concurrency.run import cpu_seconds, free_port
from sip_engine.engine import EngineConfig, SipEngine

REPO_DIR = Path(__file__).resolve().parents[1]
__all__ = ["ConversationServer", "ProtocolServer", "caller_engine", "cpu_seconds", "free_port"]


class _Process:
    """A child process whose stdout lines are collected by a thread."""

    def __init__(self, argv: list[str], ready_prefix: str, timeout_s: float = 120) -> None:
        self.proc = subprocess.Popen(argv, cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []  # appended by the reader thread only
        self._ready = threading.Event()
        self._prefix = ready_prefix
        self.ready_line = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout_s):
            self.stop()
            raise RuntimeError(f"{argv[2]} did not start within {timeout_s:.0f} s")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(self._prefix) and not self._ready.is_set():
                self.ready_line = line
                self._ready.set()
            else:
                self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        """Ask the process to stop, and kill it if it does not within 20 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every ``KIND {json}`` line printed so far."""
        return [json.loads(line[len(kind) + 1 :]) for line in list(self.lines) if line.startswith(kind + " ")]


class ConversationServer(_Process):
    """``bench.conversation_server`` on a port of 127.0.0.1."""

    def __init__(self, port: int, providers: str, models: Path, endpoint: str | None, max_calls: int = 100) -> None:
        argv = [sys.executable, "-m", "bench.conversation_server", "--port", str(port), "--providers", providers]
        argv += ["--models", str(models), "--max-calls", str(max_calls)]
        if endpoint:
            argv += ["--endpoint", endpoint]
        self.port = port
        super().__init__(argv, "READY")

    def cpu(self) -> float:
        """CPU seconds the server has used so far."""
        return cpu_seconds(self.proc.pid)

    def loop_cpu(self) -> float:
        """CPU seconds of the server's main thread so far: its event loop, which carries every call's frame loop."""
        return cpu_seconds(self.proc.pid, thread=self.proc.pid)

    @property
    def timings(self) -> list[dict[str, Any]]:
        """Every reply's breakdown."""
        return self.records("TIMING")


class ProtocolServer(_Process):
    """The local OpenAI-protocol server (chat, transcription, speech) answering with zero added latency."""

    def __init__(self) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "tests.peers.cloud.openai_server", "--port", str(self.port), "--key", "bench-key"]
        super().__init__(argv, "READY")
        self.base_url = f"http://127.0.0.1:{self.port}/v1"


async def caller_engine() -> SipEngine:
    """A started SIP engine for the benchmark's callers (it dials URIs; it refuses every inbound call)."""
    from sip_engine.screening import Refusal

    engine = SipEngine(
        EngineConfig(host="127.0.0.1", port=free_port(), max_concurrent_calls=200),
        router=lambda offer: Refusal(403, "Forbidden"),
        on_inbound=lambda call: None,  # type: ignore[arg-type,return-value]
    )
    await engine.start()
    return engine

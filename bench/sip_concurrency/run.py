"""Benchmark N concurrent calls between the SIP engine (server process) and a tone-checking load peer.

Run as ``python -m bench.sip_concurrency.run --calls 10,50,100 --duration 20``. See README.md for the columns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from media.frames import SAMPLE_RATE, rms
from media.session import MediaSession
from sip_engine.calls import SipCall
from sip_engine.engine import EngineConfig, SipEngine
from sip_engine.screening import Refusal
from sip_engine.trunks import TrunkSettings

REPO_DIR = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_DIR / "bench" / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")

AMPLITUDE = 0.3  # of full scale; the sent RMS is AMPLITUDE / sqrt(2)
SILENT_FRACTION = 0.01  # a received frame below 1% of the sent RMS counts as silent
WARMUP_S = 1.0  # per call, from answer: the echo path's cushion and jitter buffers settle
DIAL_RATE = 20.0  # INVITEs per second at most
RING_TIMEOUT_S = 10.0
END_TIMEOUT_S = 10.0
BASE_HZ = 300
TOP_HZ = 3300  # G.711 carries up to ~3.4 kHz


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (baresip listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def cpu_seconds(pid: int | str = "self", thread: int | None = None) -> float:
    """User + system CPU seconds of a process (all its threads), or of one of its threads, from /proc."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15 of the line


def frequencies(n: int) -> tuple[list[int], int]:
    """Distinct integer tone frequencies in [BASE_HZ, TOP_HZ] for n calls, and the step between them."""
    step = max(1, min(37, (TOP_HZ - BASE_HZ) // max(1, n - 1)))
    return [BASE_HZ + step * i for i in range(n)], step


def one_second_of(freq: int) -> bytes:
    """One second of an integer-Hz sine: whole cycles, so back-to-back copies are phase-continuous."""
    t = np.arange(SAMPLE_RATE, dtype=np.float64) / SAMPLE_RATE
    return (np.sin(2 * np.pi * freq * t) * AMPLITUDE * 32767).astype(np.int16).tobytes()


def dominant_hz(pcm: bytes) -> float | None:
    """The strongest frequency above 100 Hz in s16 16 kHz audio, or None if there is too little."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    if len(samples) < SAMPLE_RATE // 4:
        return None
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    spectrum[freqs < 100] = 0
    return float(freqs[int(np.argmax(spectrum))])


@dataclass
class CallResult:
    index: int
    freq: int
    dialled_at: float = 0.0
    answered_at: float | None = None
    error: str | None = None
    frames: int = 0  # received frames inside the analysis window
    expected_frames: int = 0
    silent_frames: int = 0
    got_hz: float | None = None
    tone_ok: bool = False
    late_ticks: int = 0
    underruns: int = 0
    received: bytearray = field(default_factory=bytearray, repr=False)
    settled: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # answered or failed


PER_CALL_FIELDS = ("index", "freq", "error", "frames", "expected_frames", "silent_frames", "got_hz", "tone_ok")
PER_CALL_FIELDS += ("late_ticks", "underruns")


class Window:
    """The shared end of the measurement: calls record until stop_at, then hang up."""

    def __init__(self) -> None:
        self.stop_at = math.inf
        self.stopped = asyncio.Event()


async def run_call(engine: SipEngine, res: CallResult, window: Window) -> None:
    """Dial, play this call's tone continuously, collect the echo until the window closes, hang up."""
    loop = asyncio.get_running_loop()
    chunk = one_second_of(res.freq)
    silent_below = SILENT_FRACTION * AMPLITUDE / math.sqrt(2)
    call: SipCall | None = None
    media: MediaSession | None = None
    try:
        res.dialled_at = loop.time()
        call = await engine.dial("t", f"+1555{res.index:07d}", caller_id="+15559999")
        await call.wait_answered(RING_TIMEOUT_S)
        res.answered_at = loop.time()
        res.settled.set()
        media = MediaSession(call)
        media.play(chunk)
        media.play(chunk)
        record_from = res.answered_at + WARMUP_S
        reached_end = False
        async with aclosing(media.frames()) as frames:
            async for frame in frames:
                now = loop.time()
                if now >= window.stop_at:
                    reached_end = True
                    break
                if media.queued_ms < 1000:
                    media.play(chunk)
                if now >= record_from:
                    res.frames += 1
                    if rms(frame) < silent_below:
                        res.silent_frames += 1
                    res.received += frame
        if window.stop_at != math.inf:
            res.expected_frames = max(0, int((window.stop_at - record_from) * 1000 / 20))
        if not reached_end:
            res.error = "call ended early" if call.closed else "no media"
    except Exception as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    finally:
        res.settled.set()
        if media is not None:
            res.late_ticks = media.stats.late_ticks
            res.underruns = media.stats.underruns
        if call is not None:
            await call.hangup()
            try:
                await asyncio.wait_for(asyncio.shield(call.ended), END_TIMEOUT_S)
            except TimeoutError:
                res.error = res.error or "call did not end after hangup"


class Server:
    """The server subprocess and a thread collecting its STATS lines."""

    def __init__(self, port: int, max_calls: int) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.sip_concurrency.server", "--port", str(port), "--max-calls", str(max_calls)],
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("READY"):
                self.ready.set()
            elif line.startswith("STATS "):
                self.lines.put(line[6:])

    def wait_ready(self, timeout: float) -> None:
        if not self.ready.wait(timeout):
            raise RuntimeError(f"server did not start within {timeout} s (exit code {self.proc.poll()})")

    def drain_stats(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """Up to ``count`` call reports, waiting at most ``timeout`` seconds in total."""
        out: list[dict[str, Any]] = []
        give_up = time.monotonic() + timeout
        while len(out) < count:
            try:
                out.append(json.loads(self.lines.get(timeout=max(0.01, give_up - time.monotonic()))))
            except queue.Empty:
                break
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


async def run_round(engine: SipEngine, server: Server, n: int, duration: float) -> dict[str, Any]:
    """One measurement with n concurrent calls."""
    loop = asyncio.get_running_loop()
    freqs, step = frequencies(n)
    tolerance = min(25.0, step / 2)
    results = [CallResult(index=i, freq=f) for i, f in enumerate(freqs)]
    window = Window()
    tasks = []
    for i, res in enumerate(results):
        if i:
            await asyncio.sleep(1 / DIAL_RATE)
        tasks.append(asyncio.create_task(run_call(engine, res, window)))
    # Wait until every call is answered or has failed.
    waiters = [asyncio.ensure_future(r.settled.wait()) for r in results]
    await asyncio.wait(waiters, timeout=RING_TIMEOUT_S + 5)
    for waiter in waiters:
        waiter.cancel()
    answered = [r.answered_at for r in results if r.answered_at is not None]
    first_invite = min(r.dialled_at for r in results)
    setup_s = (max(answered) - first_invite) if answered else math.nan
    setup_rate = len(answered) / setup_s if answered and setup_s > 0 else math.nan

    # Steady window: all calls up, one warm-up second, then `duration` seconds of CPU accounting.
    await asyncio.sleep(WARMUP_S)
    t0, srv0, load0 = time.monotonic(), cpu_seconds(server.proc.pid), cpu_seconds()
    window.stop_at = loop.time() + duration
    await asyncio.sleep(duration)
    wall = time.monotonic() - t0
    srv_cpu = (cpu_seconds(server.proc.pid) - srv0) / wall * 100
    load_cpu = (cpu_seconds() - load0) / wall * 100
    window.stopped.set()
    _, pending = await asyncio.wait(tasks, timeout=END_TIMEOUT_S + 5)
    for task in pending:
        task.cancel()
    server_stats = await asyncio.to_thread(server.drain_stats, len(answered), 10.0)

    for res in results:
        res.got_hz = dominant_hz(bytes(res.received))
        res.tone_ok = res.got_hz is not None and abs(res.got_hz - res.freq) <= tolerance
        res.received = bytearray()
    ok = [r for r in results if r.error is None and r.answered_at is not None]
    failed = [r for r in results if r not in ok]
    return {
        "calls": n,
        "answered": len(answered),
        "setup_s": round(setup_s, 3),
        "setup_calls_per_s": round(setup_rate, 2),
        "server_cpu_pct": round(srv_cpu, 1),
        "load_cpu_pct": round(load_cpu, 1),
        "measured_s": round(wall, 2),
        "silent_frames": sum(r.silent_frames for r in ok),
        "missing_frames": sum(max(0, r.expected_frames - r.frames) for r in ok),
        "frames_checked": sum(r.frames for r in ok),
        "load_late_ticks": sum(r.late_ticks for r in results),
        "server_late_ticks": sum(int(s.get("late_ticks", 0)) for s in server_stats),
        "server_underruns": sum(int(s.get("underruns", 0)) for s in server_stats),
        "server_reports": len(server_stats),
        "tone_mismatches": sum(1 for r in ok if not r.tone_ok),
        "tone_tolerance_hz": tolerance,
        "failed_calls": len(failed),
        "failures": sorted({r.error or "not answered" for r in failed}),
        "per_call": [{k: getattr(r, k) for k in PER_CALL_FIELDS} for r in results],
    }


COLUMNS = [
    ("N", "calls", "{}"),
    ("setup/s", "setup_calls_per_s", "{:.1f}"),
    ("srv CPU%", "server_cpu_pct", "{:.1f}"),
    ("load CPU%", "load_cpu_pct", "{:.1f}"),
    ("silent", "silent_frames", "{}"),
    ("missing", "missing_frames", "{}"),
    ("checked", "frames_checked", "{}"),
    ("late srv", "server_late_ticks", "{}"),
    ("late load", "load_late_ticks", "{}"),
    ("tone bad", "tone_mismatches", "{}"),
    ("failed", "failed_calls", "{}"),
]


def print_table(rows: list[dict[str, Any]]) -> None:
    cells = [[h for h, _, _ in COLUMNS]] + [[fmt.format(r[k]) for _, k, fmt in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    for j, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    for r in rows:
        if r["failures"]:
            print(f"N={r['calls']} failures: {'; '.join(r['failures'])}")


async def bench(counts: list[int], duration: float, max_calls: int) -> list[dict[str, Any]]:
    server = Server(free_port(), max_calls)
    try:
        await asyncio.to_thread(server.wait_ready, 20.0)

        async def refuse(call: SipCall) -> None:
            await call.hangup()

        engine = SipEngine(
            EngineConfig(host="127.0.0.1", port=free_port(), max_concurrent_calls=max(counts) + 10),
            lambda _offer: Refusal(403, "Forbidden"),
            refuse,
        )
        await engine.start()
        rows = []
        try:
            await engine.apply_trunks([TrunkSettings(id="t", kind="ip", peer_host="127.0.0.1", peer_port=server.port)])
            for n in counts:
                print(f"running N={n} for {duration:g} s ...", file=sys.stderr, flush=True)
                rows.append(await run_round(engine, server, n, duration))
                await asyncio.sleep(1.0)  # let both sides release the previous round's calls
        finally:
            await asyncio.wait_for(engine.stop(), 20)
        return rows
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="10,50,100", help="comma-separated concurrent call counts")
    parser.add_argument("--duration", type=float, default=20.0, help="steady seconds measured per round")
    parser.add_argument("--max-calls", type=int, default=200, help="the server's max_concurrent_calls")
    args = parser.parse_args()
    counts = [int(c) for c in args.calls.split(",") if c.strip()]
    started = datetime.now(UTC)
    budget = sum(n / DIAL_RATE + RING_TIMEOUT_S + args.duration + 2 * END_TIMEOUT_S + 30 for n in counts) + 60
    rows = asyncio.run(asyncio.wait_for(bench(counts, args.duration, args.max_calls), budget))
    print_table(rows)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"sip_concurrency-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    meta = {
        "started": started.isoformat(),
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "dial_rate_limit": DIAL_RATE,
        "warmup_s": WARMUP_S,
        "silent_threshold_rms": SILENT_FRACTION * AMPLITUDE / math.sqrt(2),
    }
    out.write_text(json.dumps({"meta": meta, "rounds": rows}, indent=2))
    print(f"results: {out.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()

"""A scriptable baresip phone in its own process (one baresip Runtime per process), and its test-side client.

Run ``python -m tests.peers.baresip_peer --port P --name NAME [--tone HZ] [--max-seconds S]``: it listens on
127.0.0.1:P, answers every inbound call, sends a continuous sine of HZ (0 = silence) on every call, executes
incoming REFERs by itself (transfer policy "auto", like a desk phone), measures the dominant frequency of what the
current call receives, records received DTMF digits, and speaks JSON lines on stdin/stdout:

``{"cmd": "dial", "uri": ...}``, ``{"cmd": "dtmf", "digits": ...}``, ``{"cmd": "hangup"}``, ``{"cmd": "reset"}``,
``{"cmd": "status"}``, ``{"cmd": "quit"}``, ``{"cmd": "play", "wav": PATH}`` (send a 16 kHz mono WAV on the current call
instead of the tone), ``{"cmd": "record", "path": PATH}`` / ``{"cmd": "stop_record"}`` (write what the current call
receives to a WAV at the receive rate); each command is answered by exactly one JSON line (echoing ``seq``).
The first line it prints is ``{"ready": true, ...}``. It exits by itself after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SILENCE_RMS = 200.0  # 20 ms chunks quieter than this (s16 RMS) are ignored by the frequency estimate
TONE_AMPLITUDE = 8000.0
TX_AHEAD_MS = 60  # how much transmit audio is kept queued ahead of the stack's clock
FRAME_MS = 20

log = logging.getLogger("baresip_peer")


# --- signal analysis (shared by the peer and the tests) ------------------------------------------


def soxr_resample(samples: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Resample s16 samples between rates (the peer sends 16 kHz clips over 8 kHz codecs)."""
    import soxr

    return np.clip(soxr.resample(samples.astype(np.float32), in_rate, out_rate), -32768, 32767).astype("<i2")


def dominant_frequency(samples: np.ndarray, rate: int) -> float | None:
    """The strongest frequency in ``samples`` (Hann window, parabolic peak interpolation); None if too short."""
    if len(samples) < rate // 20:
        return None
    data = samples.astype(np.float64) - float(np.mean(samples))
    spectrum = np.abs(np.fft.rfft(data * np.hanning(len(data))))
    spectrum[0] = 0.0
    peak = int(np.argmax(spectrum))
    offset = 0.0
    if 0 < peak < len(spectrum) - 1:
        left, mid, right = spectrum[peak - 1], spectrum[peak], spectrum[peak + 1]
        denominator = left - 2 * mid + right
        offset = 0.5 * (left - right) / denominator if denominator else 0.0
    return float((peak + offset) * rate / len(data))


def voiced_frequency(samples: np.ndarray, rate: int) -> float | None:
    """The dominant frequency of the non-silent 20 ms chunks of ``samples``; None when all of it is silence."""
    chunk = rate * FRAME_MS // 1000
    loud = [
        samples[i : i + chunk]
        for i in range(0, len(samples) - chunk + 1, chunk)
        if rms(samples[i : i + chunk]) >= SILENCE_RMS
    ]
    if not loud:
        return None
    return dominant_frequency(np.concatenate(loud), rate)


def rms(samples: np.ndarray) -> float:
    """Root mean square of s16 samples (0.0 for none)."""
    if len(samples) == 0:
        return 0.0
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def sine(freq_hz: float, rate: int, count: int, phase: float = 0.0) -> tuple[bytes, float]:
    """``count`` s16 samples of a sine starting at ``phase``; returns the PCM and the phase to continue from."""
    step = 2 * np.pi * freq_hz / rate
    angles = phase + step * np.arange(count)
    pcm = (TONE_AMPLITUDE * np.sin(angles)).astype("<i2").tobytes()
    return pcm, float((phase + step * count) % (2 * np.pi))


# --- the phone (runs inside the peer process) ----------------------------------------------------


class _Leg:
    """One call of the phone with its transmit phase."""

    def __init__(self, call: Any, direction: str) -> None:
        self.call = call
        self.direction = direction
        self.phase = 0.0
        self.established = False


class Phone:
    """The peer's single user agent, its calls, and what it hears.

    Call state comes from the agent's own event stream, not from the Call objects: baresip-python builds a dialled
    Call only after its command returns, so a call answered within a few milliseconds can report RINGING and
    ESTABLISHED before the object exists (and the object then never learns about them).
    """

    def __init__(self, port: int, name: str, tone_hz: float, codecs: tuple[str, ...] = ("pcmu", "pcma")) -> None:
        self.port = port
        self.codecs = codecs
        self.name = name
        self.tone_hz = tone_hz
        self.runtime: Any = None
        self.agent: Any = None
        self.legs: dict[int, _Leg] = {}
        self.current: _Leg | None = None
        self.total_calls = 0
        self.transfers = 0
        self.digits = ""
        self.closed: list[str] = []
        self._early: dict[int, list[Any]] = collections.defaultdict(list)  # events of calls not adopted yet
        self.rx_rate = 8000
        self.rx: collections.deque[np.ndarray] = collections.deque()
        self.rx_samples = 0
        self.playing: np.ndarray | None = None  # samples at 16 kHz still to send on the current call
        self.play_pos = 0
        self.voice_sent_until = 0.0  # monotonic time the last voiced sample played so far leaves on the wire
        self.first_voice_after_play: float | None = None  # first voiced chunk received after that
        self.recording: list[np.ndarray] | None = None
        self.record_path: str | None = None

    async def start(self, sip_trace: bool = False) -> None:
        """Start the runtime and the listening user agent."""
        from baresip import Account, Config, Runtime, UserAgent

        self.runtime = Runtime()
        await self.runtime.start(
            Config(
                net_interface="127.0.0.1",
                max_concurrent_calls=None,
                sip_trace=sip_trace,
                extra_config_text=(
                    f"sip_listen 127.0.0.1:{self.port}\naudio_jitter_buffer_type fixed\naudio_jitter_buffer_ms 20-60\n"
                ),
            )
        )
        self.agent = await UserAgent.create(
            self.runtime,
            Account(
                user=self.name,
                domain=f"127.0.0.1:{self.port}",
                password="",
                reg_interval=0,
                audio_codecs=self.codecs,
                extra_params=("catchall=yes",),
            ),
            transfer_policy="auto",
        )
        self.agent.on(self._on_event)
        self.agent.on_incoming(self._incoming)
        self.agent.on_transfer_call(self._transfer_call)

    async def close(self) -> None:
        """Hang up everything and stop the runtime."""
        await self.hangup_all()
        if self.runtime is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.runtime.close(), 3)

    # --- calls --------------------------------------------------------------------------------------

    def _adopt(self, call: Any, direction: str) -> None:
        leg = _Leg(call, direction)
        self.legs[call.handle] = leg
        self.total_calls += 1
        self._make_current(leg)
        for event in self._early.pop(call.handle, []):
            self._apply(leg, event)

    def _make_current(self, leg: _Leg | None) -> None:
        self.current = leg
        self.rx.clear()
        self.rx_samples = 0

    def _incoming(self, call: Any) -> None:
        self._adopt(call, "inbound")
        asyncio.get_running_loop().create_task(self._answer(call))

    async def _answer(self, call: Any) -> None:
        try:
            await call.answer()
        except Exception as exc:
            log.warning("answer failed: %s", exc)

    def _transfer_call(self, call: Any) -> None:
        self.transfers += 1
        self._adopt(call, "transfer")

    def _on_event(self, event: Any) -> None:
        if not event.call:
            return
        leg = self.legs.get(event.call)
        if leg is None:
            self._early[event.call].append(event)
        else:
            self._apply(leg, event)

    def _apply(self, leg: _Leg, event: Any) -> None:
        from baresip import Event

        if event.event is Event.CALL_ESTABLISHED:
            leg.established = True
        elif event.event is Event.CALL_DTMF_START and event.text:
            self.digits += event.text
        elif event.event is Event.CALL_CLOSED:
            leg.established = False
            self.closed.append(event.text or "")
            self.legs.pop(leg.call.handle, None)
            if self.current is leg:
                self._make_current(list(self.legs.values())[-1] if self.legs else None)

    async def dial(self, uri: str) -> None:
        """Call ``uri``; the new call becomes the current one."""
        call = await self.agent.dial(uri)
        self._adopt(call, "outbound")

    async def hangup_all(self) -> None:
        """Hang up every live call."""
        for leg in list(self.legs.values()):
            with contextlib.suppress(Exception):
                await leg.call.hangup()

    def reset(self) -> None:
        """Forget digits, counters and received audio (calls are left alone)."""
        self.digits = ""
        self.total_calls = len(self.legs)
        self.transfers = 0
        self.closed.clear()
        self._make_current(self.current)

    # --- media --------------------------------------------------------------------------------------

    async def pump(self) -> None:
        """Feed the tone to every call and collect the current call's received audio, every frame."""
        while True:
            for leg in list(self.legs.values()):
                self._feed(leg)
            if self.current is not None:
                self._collect(self.current)
            await asyncio.sleep(FRAME_MS / 1000)

    def _feed(self, leg: _Leg) -> None:
        from baresip import AudioNotActive, AudioRestarted

        if leg is self.current and self.playing is not None:
            self._feed_playback(leg)
            return
        if self.tone_hz <= 0:
            return
        try:
            info = leg.call.audio.info()
            if not info.tx_ready or not info.tx_sample_rate:
                return
            rate = info.tx_sample_rate
            missing = rate * TX_AHEAD_MS // 1000 - info.tx_buffered // 2
            if missing > 0:
                pcm, leg.phase = sine(self.tone_hz, rate, missing, leg.phase)
                leg.call.audio.write(pcm)
        except (AudioNotActive, AudioRestarted):
            return

    def _feed_playback(self, leg: _Leg) -> None:
        from baresip import AudioNotActive, AudioRestarted

        assert self.playing is not None
        try:
            info = leg.call.audio.info()
            if not info.tx_ready or not info.tx_sample_rate:
                return
            rate = info.tx_sample_rate
            missing = rate * TX_AHEAD_MS // 1000 - info.tx_buffered // 2
            if missing <= 0:
                return
            take = int(missing * 16000 / rate)
            chunk = self.playing[self.play_pos : self.play_pos + take]
            if chunk.size == 0:
                self.playing = None
                return
            self.play_pos += chunk.size
            out = chunk if rate == 16000 else soxr_resample(chunk, 16000, rate)
            queued_s = info.tx_buffered / 2 / rate
            leg.call.audio.write(out.astype("<i2").tobytes())
            if rms(chunk) > SILENCE_RMS:
                self.voice_sent_until = time.monotonic() + queued_s + len(out) / rate
                self.first_voice_after_play = None
        except (AudioNotActive, AudioRestarted):
            return

    def _collect(self, leg: _Leg) -> None:
        from baresip import AudioNotActive, AudioRestarted

        try:
            info = leg.call.audio.info()
            if not info.rx_ready or not info.rx_sample_rate:
                return
            pcm = leg.call.audio.read(max(info.rx_buffered, 2))
        except (AudioNotActive, AudioRestarted):
            return
        if len(pcm) < 2:
            return
        if info.rx_sample_rate != self.rx_rate:
            self.rx_rate = info.rx_sample_rate
            self.rx.clear()
            self.rx_samples = 0
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        if self.recording is not None:
            self.recording.append(samples.copy())
        if (
            self.voice_sent_until
            and self.first_voice_after_play is None
            and time.monotonic() > self.voice_sent_until
            and rms(samples) > SILENCE_RMS
        ):
            self.first_voice_after_play = time.monotonic()
        self.rx.append(samples)
        self.rx_samples += len(samples)
        while self.rx and self.rx_samples - len(self.rx[0]) >= self.rx_rate:
            self.rx_samples -= len(self.rx.popleft())

    def status(self) -> dict[str, Any]:
        """The phone's state as the line protocol reports it."""
        received = np.concatenate(list(self.rx)) if self.rx else np.zeros(0, dtype="<i2")
        received = received[-self.rx_rate :]
        current = self.current
        return {
            "calls": len(self.legs),
            "total_calls": self.total_calls,
            "established": bool(current and current.established),
            "digits": self.digits,
            "rx_freq": voiced_frequency(received, self.rx_rate),
            "rx_rms": round(rms(received), 1),
            "peer": (current.call.peer or "") if current else "",
            "direction": current.direction if current else None,
            "transfers": self.transfers,
            "closed": list(self.closed),
            "playing": self.playing is not None,
            "voice_sent_until": self.voice_sent_until,
            "first_voice_after_play": self.first_voice_after_play,
            "now": time.monotonic(),
        }

    def play(self, wav_path: str) -> None:
        """Send a 16 kHz mono s16 WAV on the current call, replacing the tone until it ends."""
        import wave

        with wave.open(wav_path, "rb") as wav:
            if wav.getframerate() != 16000 or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise ValueError("play needs a 16 kHz mono 16-bit WAV")
            self.playing = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        self.play_pos = 0
        self.voice_sent_until = 0.0
        self.first_voice_after_play = None

    def stop_record(self) -> int:
        """Write what was recorded to the WAV named by ``record`` and return its sample count."""
        import wave

        samples = np.concatenate(self.recording) if self.recording else np.zeros(0, dtype="<i2")
        if self.record_path is not None:
            with wave.open(self.record_path, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(self.rx_rate)
                wav.writeframes(samples.astype("<i2").tobytes())
        self.recording, self.record_path = None, None
        return int(samples.size)


async def _serve(args: argparse.Namespace, out: TextIO) -> None:
    """Run the phone and answer commands from stdin until quit, EOF or the time limit."""
    phone = Phone(args.port, args.name, args.tone, tuple(args.codecs.split(",")))
    await phone.start(sip_trace=args.sip_trace)
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_stdin, name="peer-stdin", daemon=True).start()
    pump = loop.create_task(phone.pump())

    def reply(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    reply({"ready": True, "name": args.name, "port": args.port, "pid": os.getpid()})
    deadline = loop.time() + args.max_seconds
    try:
        while True:
            try:
                line = await asyncio.wait_for(lines.get(), max(deadline - loop.time(), 0.01))
            except TimeoutError:
                log.warning("%s: --max-seconds reached, exiting", args.name)
                break
            if line is None:
                break
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                answer, done = await _handle(phone, request)
            except Exception as exc:
                request, answer, done = {}, {"ok": False, "error": f"{type(exc).__name__}: {exc}"}, False
            reply({"seq": request.get("seq"), **answer})
            if done:
                break
    finally:
        pump.cancel()
        await phone.close()


async def _handle(phone: Phone, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Execute one protocol command: the reply and whether to stop."""
    cmd = request.get("cmd")
    if cmd == "status":
        return {"ok": True, **phone.status()}, False
    if cmd == "dial":
        await phone.dial(str(request["uri"]))
        return {"ok": True}, False
    if cmd == "dtmf":
        if phone.current is None:
            return {"ok": False, "error": "no current call"}, False
        await phone.current.call.send_dtmf(str(request["digits"]))
        return {"ok": True}, False
    if cmd == "hangup":
        if phone.current is None:
            return {"ok": False, "error": "no current call"}, False
        await phone.current.call.hangup()
        return {"ok": True}, False
    if cmd == "reset":
        await phone.hangup_all()
        phone.reset()
        return {"ok": True}, False
    if cmd == "play":
        if phone.current is None:
            return {"ok": False, "error": "no current call"}, False
        phone.play(str(request["wav"]))
        return {"ok": True}, False
    if cmd == "record":
        phone.recording, phone.record_path = [], str(request["path"])
        return {"ok": True}, False
    if cmd == "stop_record":
        return {"ok": True, "samples": phone.stop_record()}, False
    if cmd == "quit":
        return {"ok": True}, True
    return {"ok": False, "error": f"unknown command {cmd!r}"}, False


def main(argv: list[str] | None = None) -> None:
    """Entry point of the peer process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="peer")
    parser.add_argument("--tone", type=float, default=0.0, help="Hz of the tone sent on every call (0 = silence)")
    parser.add_argument("--codecs", default="pcmu,pcma", help="audio codecs offered, e.g. g722/16000/1")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--sip-trace", action="store_true", help="log every SIP message to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.sip_trace else logging.WARNING,
        stream=sys.stderr,
        format=f"[{args.name}] %(name)s %(levelname)s %(message)s",
    )
    # The protocol owns the real stdout; anything the native stack prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    asyncio.run(_serve(args, out))
    out.close()


# --- the client (runs in the test process) -------------------------------------------------------


class PeerError(AssertionError):
    """The peer process did not answer as expected."""


class BaresipPeer:
    """A baresip peer process driven over its line protocol; use as a context manager."""

    def __init__(
        self,
        port: int,
        name: str,
        tone_hz: float = 0.0,
        max_seconds: float = 60.0,
        sip_trace: bool = False,
        codecs: str = "pcmu,pcma",
    ) -> None:
        self.codecs = codecs
        self.port = port
        self.name = name
        self.tone_hz = tone_hz
        self.max_seconds = max_seconds
        self.sip_trace = sip_trace
        self.process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._seq = 0
        self.last_status: dict[str, Any] = {}

    @property
    def uri(self) -> str:
        """A SIP URI that reaches this peer."""
        return f"sip:{self.name}@127.0.0.1:{self.port}"

    def __enter__(self) -> BaresipPeer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> None:
        """Start the peer process and wait for its ready line."""
        command = [sys.executable, "-m", "tests.peers.baresip_peer", "--port", str(self.port), "--name", self.name]
        command += ["--tone", str(self.tone_hz), "--max-seconds", str(self.max_seconds), "--codecs", self.codecs]
        if self.sip_trace:
            command.append("--sip-trace")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
        )
        threading.Thread(target=self._read, name=f"peer-{self.name}-stdout", daemon=True).start()
        ready = self._next_line(timeout)
        if not ready.get("ready"):
            raise PeerError(f"peer {self.name} did not start: {ready}")

    def stop(self) -> None:
        """Ask the peer to quit; kill it by pid if it does not."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            with contextlib.suppress(Exception):
                self._send(process, {"cmd": "quit", "seq": -1})
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]

    def _read(self) -> None:
        process = self.process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            if line.startswith("{"):
                self._lines.put(line)
        self._lines.put(None)

    def _next_line(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise PeerError(f"peer {self.name} sent nothing within {timeout:g} s") from None
        if line is None:
            self._lines.put(None)
            raise PeerError(f"peer {self.name} exited")
        return dict(json.loads(line))

    @staticmethod
    def _send(process: subprocess.Popen[str], message: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()

    def command(self, cmd: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Send one command and return its reply; raise PeerError when it fails or times out."""
        process = self.process
        if process is None:
            raise PeerError(f"peer {self.name} is not running")
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._send(process, {"cmd": cmd, "seq": seq, **fields})
            end = time.monotonic() + timeout
            while True:
                answer = self._next_line(max(end - time.monotonic(), 0.01))
                if answer.get("seq") == seq:
                    break
        if not answer.get("ok"):
            raise PeerError(f"peer {self.name}: {cmd} failed: {answer.get('error')}")
        return answer

    def status(self) -> dict[str, Any]:
        """The peer's current status."""
        self.last_status = self.command("status")
        return self.last_status

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, interval: float = 0.1) -> dict:
        """Poll the status until ``predicate(status)`` holds; raise PeerError with the last status otherwise."""
        end = time.monotonic() + timeout
        while True:
            status = self.status()
            if predicate(status):
                return status
            if time.monotonic() >= end:
                raise PeerError(f"peer {self.name}: condition not met within {timeout:g} s; last status {status}")
            time.sleep(interval)

    async def until(self, predicate: Callable[[dict[str, Any]], bool], within: float, interval: float = 0.1) -> dict:
        """Like wait_for (``within`` seconds), without blocking the event loop."""
        end = time.monotonic() + within
        while True:
            status = await asyncio.to_thread(self.status)
            if predicate(status):
                return status
            if time.monotonic() >= end:
                raise PeerError(f"peer {self.name}: condition not met within {within:g} s; last status {status}")
            await asyncio.sleep(interval)

    async def acommand(self, cmd: str, within: float = 10.0, **fields: Any) -> dict[str, Any]:
        """``command`` (reply awaited ``within`` seconds) without blocking the event loop."""
        return await asyncio.to_thread(self.command, cmd, within, **fields)


if __name__ == "__main__":
    main()

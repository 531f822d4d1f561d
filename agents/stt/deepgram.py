"""Deepgram live transcription: one websocket per caller turn, audio streamed while the caller speaks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from agents.redaction import scrub_key
from agents.stt.base import SpeechToText, SttError, SttTurn

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2
OPEN_TIMEOUT_S = 10.0
# Deepgram answers a Finalize within a few hundred milliseconds; past this the caller has waited long enough
# and the turn goes on with what has been recognised.
FINALIZE_TIMEOUT_S = 2.0
CLOSE_TIMEOUT_S = 2.0
# Deepgram drops a stream that carries nothing for 10 s; a KeepAlive holds it open while the caller is silent.
KEEPALIVE_S = 5.0
# ...but only for so long: a turn someone forgot to close must not hold a socket (and a bill) forever.
KEEPALIVE_FOR_S = 60.0
# Finals covering all but the last frame of the audio sent mean nothing is left to recognise.
COVERAGE_SLACK_S = 0.02
FINALIZE = json.dumps({"type": "Finalize"})
CLOSE_STREAM = json.dumps({"type": "CloseStream"})
KEEPALIVE = json.dumps({"type": "KeepAlive"})


class DeepgramSpeechToText(SpeechToText):
    """Streaming transcription by Deepgram's ``/v1/listen`` websocket (16 kHz linear16, interim results)."""

    def __init__(
        self, *, api_key: str, base_url: str = "wss://api.deepgram.com", model: str = "nova-3", language: str = "en"
    ) -> None:
        """Remember the stream settings; each turn opens its own socket at its first audio."""
        parts = urlsplit(base_url.rstrip("/"))
        # An https:// URL from a settings form means the same host over wss://.
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
        query = urlencode(
            {
                "encoding": "linear16",
                "sample_rate": SAMPLE_RATE,
                "channels": 1,
                "model": model,
                "language": language,
                "interim_results": "true",
                "punctuate": "true",
            }
        )
        self._url = urlunsplit((scheme, parts.netloc, f"{parts.path}/v1/listen", query, ""))
        self._host = parts.netloc or base_url
        self._key = api_key
        self._turns: weakref.WeakSet[_DeepgramTurn] = weakref.WeakSet()

    def open_turn(self) -> SttTurn:
        """Start a turn; its socket opens in the background at the first ``push``."""
        turn = _DeepgramTurn(self)
        self._turns.add(turn)
        return turn

    async def aclose(self) -> None:
        """Close every turn still open."""
        await asyncio.gather(*(turn.aclose() for turn in list(self._turns)))

    def _scrub(self, text: str) -> str:
        return scrub_key(text, self._key)


class _DeepgramTurn(SttTurn):
    def __init__(self, provider: DeepgramSpeechToText) -> None:
        self._provider = provider
        self._outbox: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self._session: asyncio.Task[None] | None = None
        self._socket: ClientConnection | None = None
        self._finals: list[str] = []
        self._interim = ""
        self._pushed_bytes = 0
        self._covered_s = 0.0
        self._finalize_sent = 0
        self._finalize_answered = 0
        self._changed = asyncio.Event()
        self._error: SttError | None = None
        self._ended = False
        self._closing = False

    def push(self, pcm16k: bytes) -> None:
        """Queue audio for the socket, opening it in the background on the first call."""
        if self._closing or self._ended or not pcm16k:
            return
        self._pushed_bytes += len(pcm16k)
        self._outbox.put_nowait(bytes(pcm16k))
        if self._session is None:
            # The handshake runs in the background so the media loop feeding us never waits on the network.
            self._session = asyncio.create_task(self._run(), name="deepgram-turn")

    async def transcript(self) -> str:
        """Ask Deepgram to finalize what it has and return every final transcript of the turn."""
        if self._session is None:
            return ""
        if not self._ended and not self._closing:
            self._finalize_sent += 1
            ticket = self._finalize_sent
            target_s = self._pushed_bytes / BYTES_PER_SECOND
            self._outbox.put_nowait(FINALIZE)
            finished = await self._wait_until(
                lambda: (
                    self._ended or self._finalize_answered >= ticket or self._covered_s >= target_s - COVERAGE_SLACK_S
                ),
                FINALIZE_TIMEOUT_S,
            )
            if not finished:
                # Deepgram is slow to finalize: the latest interim guess beats dropping the caller's last words.
                return _join([*self._finals, self._interim])
        if self._error is not None and not self._finals:
            raise self._error
        return _join(self._finals)

    async def aclose(self) -> None:
        """Send CloseStream, let Deepgram close the socket and stop the turn's tasks; safe to call twice."""
        if self._closing:
            return
        self._closing = True
        session = self._session
        if session is None:
            return
        if self._socket is None:
            # Still in the handshake: nobody will read this turn's words, so there is nothing to flush.
            session.cancel()
        elif not self._ended:
            self._outbox.put_nowait(CLOSE_STREAM)
            self._outbox.put_nowait(None)
        # asyncio.wait neither raises the session's cancellation into us nor cancels it on timeout.
        done, _ = await asyncio.wait({session}, timeout=2 * CLOSE_TIMEOUT_S)
        if not done:
            session.cancel()
            await asyncio.wait({session}, timeout=CLOSE_TIMEOUT_S)
        self._end()

    async def _run(self) -> None:
        provider = self._provider
        try:
            socket = await connect(
                provider._url,
                additional_headers={"Authorization": f"Token {provider._key}"},
                open_timeout=OPEN_TIMEOUT_S,
                close_timeout=CLOSE_TIMEOUT_S,
                max_size=2**22,
            )
        except InvalidStatus as exc:
            response = exc.response
            self._fail(
                f"Deepgram ({provider._host}) refused the stream: HTTP {response.status_code}: {_rejection(response)}"
            )
            return
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            self._fail(f"cannot reach Deepgram ({provider._host}): {exc or type(exc).__name__}")
            return
        self._socket = socket
        reader = asyncio.create_task(self._read(socket), name="deepgram-turn-reader")
        try:
            await self._send(socket, reader)
            # After CloseStream Deepgram flushes its last results and closes the socket itself.
            await asyncio.wait({reader}, timeout=CLOSE_TIMEOUT_S)
        finally:
            await socket.close()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self._end()

    async def _send(self, socket: ClientConnection, reader: asyncio.Task[None]) -> None:
        loop = asyncio.get_running_loop()
        last_item = loop.time()
        while not reader.done():
            getter = asyncio.ensure_future(self._outbox.get())
            # Waiting on the reader too ends the loop as soon as Deepgram closes the socket.
            done, _ = await asyncio.wait({getter, reader}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                if reader in done:
                    return
                if loop.time() - last_item > KEEPALIVE_FOR_S:
                    continue
                item: bytes | str | None = KEEPALIVE
            else:
                item = getter.result()
                last_item = loop.time()
            if item is None:
                return
            try:
                await socket.send(item)
            except ConnectionClosed:
                return

    async def _read(self, socket: ClientConnection) -> None:
        try:
            async for message in socket:
                if isinstance(message, bytes):
                    continue
                self._absorb(json.loads(message))
        except ConnectionClosed as exc:
            close = exc.rcvd
            if close is not None and close.code not in (1000, 1001) and not self._closing:
                # Deepgram reports stream errors in the close frame (code 1008/1011, reason "DATA-0000 ...").
                self._error = SttError(f"Deepgram closed the stream: {close.code} {close.reason}".rstrip())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self._error = SttError(f"Deepgram sent a malformed message: {exc!r}")
        finally:
            self._end()

    def _absorb(self, message: dict[str, Any]) -> None:
        if message.get("type") != "Results":
            return
        try:
            text = str(message["channel"]["alternatives"][0].get("transcript", "")).strip()
        except (KeyError, IndexError, TypeError, AttributeError):
            text = ""
        if message.get("is_final"):
            if text:
                self._finals.append(text)
            self._interim = ""
            end = float(message.get("start", 0.0)) + float(message.get("duration", 0.0))
            self._covered_s = max(self._covered_s, end)
            if message.get("from_finalize"):
                self._finalize_answered += 1
        else:
            self._interim = text
        self._changed.set()

    def _fail(self, text: str) -> None:
        self._error = SttError(self._provider._scrub(text))
        self._end()

    def _end(self) -> None:
        self._ended = True
        self._changed.set()

    async def _wait_until(self, ready: Callable[[], bool], timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not ready():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            # No await between the check and the clear, so no wake-up can be lost.
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return ready()
        return True


def _rejection(response: Any) -> str:
    body = bytes(response.body or b"")
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        # {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": "..."}
        parts = [str(payload[key]) for key in ("err_code", "err_msg") if payload.get(key)]
        if parts:
            return ": ".join(parts)
    header = response.headers.get("dg-error")
    return header or body.decode("utf-8", "replace").strip()[:300] or response.reason_phrase


def _join(parts: list[str]) -> str:
    return " ".join(part for part in parts if part)

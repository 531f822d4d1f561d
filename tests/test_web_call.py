"""Browser calls: a headless aiortc "browser" talks to a local-model assistant through the web-call endpoint.

A second test swaps the conversation for a tone player to check, without models, that audio crosses both ways at the
right pitch and that the agent, the maximum call duration, the browser and a server shutdown each end a call.

The app runs in process (the test client serves it on its own event loop in a thread); the browser side runs on the
test's loop, and the two peer connections meet over UDP on this machine's own address (no STUN, no TURN).
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from agents.model_assets import model_paths
from api.billing.ledger import Movement, post
from api.billing.rates import Pricing
from api.config import Settings
from api.telephony.call_records import CallRecords
from api.telephony.metering import CallMetering
from api.telephony.web_calls import WebCalls, WebCallsUnavailable
from media.frames import FRAME_BYTES, SAMPLE_RATE, tone
from media.handlers.base import AudioHandler, CallControl
from media.resample import Resampler
from media.session import MediaSession
from models import Account, Call, CreditLedgerEntry, LedgerEntryKind
from scheduler import events
from tests.conftest import new_account

pytestmark = pytest.mark.slow
GREETING = "Hello, this is Bright Smile Dental. How can I help you?"
REQUEST = "Hi, I'd like to book an appointment for Tuesday."
RATE = 48000
FRAME = 960  # 20 ms at 48 kHz
VOICE_RMS = 300  # Piper speech is in the thousands; the server's silence decodes to (near) zero
QUIET_RMS = 50


class BrowserMic(MediaStreamTrack):
    """The browser's microphone: silence until ``play`` queues 48 kHz mono audio, paced like a real device."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue = bytearray()
        self._start: float | None = None
        self._pts = 0

    def play(self, pcm: bytes) -> float:
        """Queue ``pcm``; returns how long it plays."""
        self._queue += pcm
        return len(pcm) / 2 / RATE

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            await asyncio.sleep(max(0.0, self._start + self._pts / RATE - time.monotonic()))
        chunk = bytes(self._queue[: 2 * FRAME])
        del self._queue[: 2 * FRAME]
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(chunk.ljust(2 * FRAME, b"\0"))
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


class BrowserSpeaker:
    """What the browser hears: per 20 ms frame, its arrival time and RMS, and all the audio (48 kHz mono)."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, float]] = []
        self.audio = bytearray()
        self.task: asyncio.Task[None] | None = None

    def listen(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self.task is None:
            self.task = asyncio.ensure_future(self._record(track))

    async def _record(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                data = frame.to_ndarray()  # Opus decodes to packed s16 stereo
                mono = data.reshape(-1, len(frame.layout.channels)).mean(axis=1).astype(np.int16)
                self.audio += mono.tobytes()
                rms = float(np.sqrt(np.mean(mono.astype(np.float64) ** 2))) if mono.size else 0.0
                self.frames.append((time.monotonic(), rms))
        except MediaStreamError:
            return

    def loud_since(self, since: float, rms: float = VOICE_RMS) -> bool:
        """True when a frame after ``since`` carries voice."""
        return any(t > since and r > rms for t, r in self.frames)

    def quiet_for(self, seconds: float) -> bool:
        """True when the last ``seconds`` of frames were all silent."""
        n = int(seconds * 50)
        recent = self.frames[-n:]
        return len(recent) == n and all(r < QUIET_RMS for _, r in recent)


async def _until(predicate: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


def _speak(model_dir: Path, text: str) -> bytes:
    """``text`` spoken by Piper, as 48 kHz mono s16."""
    from piper import PiperVoice

    voice = PiperVoice.load(str(model_paths(model_dir).piper_model))
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text))
    resampler = Resampler(int(voice.config.sample_rate), RATE, low_latency=False)
    return resampler.process(pcm) + resampler.flush()


async def _offer(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate: no trickle
    return pc.localDescription.sdp


def _tone48(frequency_hz: float, seconds: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * frequency_hz * t) * 0.3 * 32767).astype(np.int16).tobytes()


def _pitch(pcm: bytes, rate: int) -> float:
    """The strongest frequency of the loud part of ``pcm``."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    frame = rate // 50
    loud = [samples[i : i + frame] for i in range(0, len(samples) - frame, frame)]
    voiced = np.concatenate([f for f in loud if np.sqrt(np.mean(f**2)) > VOICE_RMS])
    spectrum = np.abs(np.fft.rfft(voiced * np.hanning(len(voiced))))
    return float(np.argmax(spectrum) * rate / len(voiced))


@pytest.fixture
def local_models(settings: Settings, model_dir: Path) -> Path:
    """The real local models under the node's data directory; request it before ``client`` (the server preloads)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    link = settings.data_dir / "models"
    link.symlink_to(model_dir / "models")
    return link


async def _assistant(client: AsyncTestClient[Litestar], auth: dict[str, str]) -> dict[str, Any]:
    r = await client.post(
        "/api/assistants",
        json={
            "name": "receptionist",
            "system_prompt": "You are the receptionist of a dental office. Answer in one short sentence.",
            "first_message": GREETING,
        },
        headers=auth,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_browser_hears_the_greeting_asks_and_gets_a_reply(
    local_models: Path, client: AsyncTestClient[Litestar], auth: dict[str, str], model_dir: Path
) -> None:
    assistant = await _assistant(client, auth)
    assert assistant["llm"]["provider"] == "local" and assistant["voice"]["provider"] == "piper"
    request = _speak(model_dir, REQUEST)

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    mic, speaker = BrowserMic(), BrowserSpeaker()
    pc.addTrack(mic)
    pc.on("track", speaker.listen)
    try:
        r = await client.post(
            f"/api/assistants/{assistant['id']}/web-call",
            json={"sdp": await _offer(pc), "type": "offer"},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["type"] == "answer" and "a=candidate:" in body["sdp"] and "a=end-of-candidates" in body["sdp"]
        call_id = body["call_id"]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="answer"))
        await _until(lambda: pc.connectionState == "connected", 20, "the connection")
        connected = time.monotonic()

        # The assistant speaks its first message as soon as the connection is up, then stops.
        await _until(lambda: speaker.loud_since(connected), 20, "the first message as audio")
        await _until(lambda: speaker.quiet_for(1.0), 20, "the end of the first message")
        greeting_frames = [r for t, r in speaker.frames if r > VOICE_RMS]
        assert len(greeting_frames) > 50  # over a second of voice

        r = await client.get(f"/api/calls/{call_id}", headers=auth)
        row = r.json()
        assert row["status"] == "in_progress" and row["direction"] == "inbound"
        assert (row["from_number"], row["to_number"], row["assistant_id"]) == ("webrtc", "browser", assistant["id"])

        # The caller asks; a reply comes back after the request has been said.
        request_end = time.monotonic() + mic.play(request)
        await _until(lambda: time.monotonic() >= request_end, 30, "the request to be said")
        await _until(lambda: speaker.loud_since(request_end), 60, "the reply")
        reply_at = next(t for t, r in speaker.frames if t > request_end and r > VOICE_RMS)
        print(f"\nend of request -> first reply audio in the browser: {(reply_at - request_end) * 1000:.0f} ms")
        await _until(lambda: speaker.quiet_for(1.0), 60, "the end of the reply")

        transcript: list[dict[str, Any]] = []

        async def turns() -> list[dict[str, Any]]:
            return (await client.get(f"/api/calls/{call_id}", headers=auth)).json()["transcript"]

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            transcript = await turns()
            if any(t["role"] == "user" for t in transcript) and len(transcript) >= 3:
                break
            await asyncio.sleep(0.2)
        assert transcript and transcript[0]["role"] == "assistant" and transcript[0]["text"] == GREETING, transcript
        users = [t["text"] for t in transcript if t["role"] == "user"]
        assert any("appointment" in text.lower() for text in users), transcript
        assert [t["role"] for t in transcript][:3] == ["assistant", "user", "assistant"], transcript
    finally:
        await pc.close()  # the browser hangs up

    deadline = time.monotonic() + 15
    row = {}
    while time.monotonic() < deadline:
        row = (await client.get(f"/api/calls/{call_id}", headers=auth)).json()
        if row["ended_at"] is not None:
            break
        await asyncio.sleep(0.2)
    assert row["status"] == "answered" and row["hangup_by"] == "customer", row
    assert row["answered_at"] is not None and row["duration_s"] > 3, row


MINIMAL_BUT_UNUSABLE = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


async def test_a_bad_offer_answers_422_naming_sdp(client: AsyncTestClient[Litestar], auth: dict[str, str]) -> None:
    assistant = await _assistant(client, auth)
    url = f"/api/assistants/{assistant['id']}/web-call"
    video_only = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video_only.addTransceiver("video", direction="sendrecv")
    bad = ["", "hello", "v=0\r\ns=-\r\n", MINIMAL_BUT_UNUSABLE, await _offer(video_only), "x" * 70000]
    await video_only.close()
    for sdp in bad:
        r = await client.post(url, json={"sdp": sdp, "type": "offer"}, headers=auth)
        assert r.status_code == 422, (sdp[:80], r.status_code, r.text)
        assert r.json()["errors"][0]["field"] == "sdp", r.text
    assert (await client.post(url, json={"sdp": "v=0", "type": "answer"}, headers=auth)).status_code == 400
    assert (await client.post(url, json={"type": "offer"}, headers=auth)).status_code == 400
    # Nothing was started, so no call rows.
    assert (await client.get("/api/calls", headers=auth)).json()["count"] == 0


async def test_another_accounts_assistant_is_404_and_a_read_key_403(
    app: Litestar, client: AsyncTestClient[Litestar], auth: dict[str, str]
) -> None:
    assistant = await _assistant(client, auth)
    _, other = await new_account(app, "Other")
    body = {"sdp": MINIMAL_BUT_UNUSABLE, "type": "offer"}
    r = await client.post(f"/api/assistants/{assistant['id']}/web-call", json=body, headers=other)
    assert r.status_code == 404, r.text
    r = await client.post("/api/assistants/0190a0b0-0000-7000-8000-000000000000/web-call", json=body, headers=auth)
    assert r.status_code == 404, r.text
    r = await client.post("/api/api-keys", json={"name": "ro", "scopes": ["read"]}, headers=auth)
    read_only = {"Authorization": f"Bearer {r.json()['key']}"}
    r = await client.post(f"/api/assistants/{assistant['id']}/web-call", json=body, headers=read_only)
    assert r.status_code == 403, r.text


class ToneTalker(AudioHandler):
    """A stand-in for the conversation: plays a 440 Hz tone, keeps what it hears, returns after ``talk_s``."""

    def __init__(self, talk_s: float | None) -> None:
        self.talk_s = talk_s
        self.heard = bytearray()

    async def run(self, media: MediaSession, call: CallControl) -> None:
        media.play(tone(440.0, 1000))
        started = time.monotonic()
        async for frame in media.frames():
            assert len(frame) == FRAME_BYTES
            self.heard += frame
            if self.talk_s is not None and time.monotonic() - started > self.talk_s:
                return


class FakeConversations:
    """Hands WebCalls a ToneTalker instead of building a conversation from local models."""

    def __init__(self) -> None:
        self.talkers: list[ToneTalker] = []
        self.talk_s: float | None = None

    async def build(self, assistant: Any, **_: Any) -> ToneTalker:
        self.talkers.append(ToneTalker(self.talk_s))
        return self.talkers[-1]


async def test_call_life_cycle_audio_both_ways_and_who_hung_up(
    settings: Settings, app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    """Without models: audio crosses both ways at the right pitch; agent, max duration and shutdown end calls."""
    account_id, headers = await new_account(app, "Tones")
    row = await _assistant(client, headers)
    assistant = SimpleNamespace(id=UUID(row["id"]), account_id=account_id, max_call_duration_s=600)
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    fake = FakeConversations()
    web_calls = WebCalls(fake, CallRecords(sessions), connect_timeout_s=10)  # type: ignore[arg-type]

    async def call(talk_s: float | None, max_s: int) -> tuple[Any, RTCPeerConnection, BrowserMic, BrowserSpeaker]:
        fake.talk_s = talk_s
        assistant.max_call_duration_s = max_s
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        mic, speaker = BrowserMic(), BrowserSpeaker()
        pc.addTrack(mic)
        pc.on("track", speaker.listen)
        answer = await web_calls.answer(assistant, await _offer(pc))  # type: ignore[arg-type]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        await _until(lambda: pc.connectionState == "connected", 10, "the connection")
        return answer.call_id, pc, mic, speaker

    async def ended(call_id: Any) -> Call:
        for _ in range(200):
            async with sessions() as session:
                found = await session.get(Call, call_id)
                if found is not None and found.ended_at is not None:
                    return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"call {call_id} never ended")

    try:
        # 1. The agent ends the call: it played its tone and heard the browser's.
        call_id, pc, mic, speaker = await call(talk_s=2.0, max_s=600)
        mic.play(_tone48(300.0, 1.0))
        await _until(lambda: pc.connectionState == "closed", 10, "the server to close the connection")
        record = await ended(call_id)
        assert (record.status.value, record.hangup_by) == ("answered", "agent")
        assert (record.direction.value, record.from_number, record.to_number) == ("inbound", "webrtc", "browser")
        assert record.answered_at is not None and 1.5 < record.duration_s < 6
        assert abs(_pitch(bytes(speaker.audio), RATE) - 440) < 10  # what the agent played, at the right speed
        assert abs(_pitch(bytes(fake.talkers[-1].heard), SAMPLE_RATE) - 300) < 10  # the browser's, as 16 kHz
        await pc.close()

        # 2. The assistant's maximum call duration ends it (system).
        call_id, pc, _, _ = await call(talk_s=None, max_s=1)
        record = await ended(call_id)
        assert record.hangup_by == "system" and 0.8 < record.duration_s < 3
        await pc.close()

        # 3. The browser hangs up (customer).
        call_id, pc, _, _ = await call(talk_s=None, max_s=600)
        await asyncio.sleep(0.5)
        await pc.close()
        record = await ended(call_id)
        assert record.hangup_by == "customer"

        # 4. The server stops: every call ends (system) and the browser sees the connection close.
        call_id, pc, _, _ = await call(talk_s=None, max_s=600)
        await web_calls.stop()
        record = await ended(call_id)
        assert record.hangup_by == "system"
        await _until(lambda: pc.connectionState == "closed", 10, "the connection to close on shutdown")
        assert web_calls.active == 0
    finally:
        await web_calls.stop()
        await engine.dispose()


async def test_a_browser_call_is_charged_and_refused_at_zero_credit(
    settings: Settings, app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    """Browser calls are metered like phone calls: charged once from answer to end, refused with no credit left."""
    account_id, headers = await new_account(app, "Metered")
    row = await _assistant(client, headers)
    assistant = SimpleNamespace(id=UUID(row["id"]), account_id=account_id, max_call_duration_s=600)
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    fake = FakeConversations()
    fake.talk_s = 1.0
    metering = CallMetering(sessions, settings.credits)
    web_calls = WebCalls(fake, CallRecords(sessions), connect_timeout_s=10, metering=metering)  # type: ignore[arg-type]
    async with sessions() as session, session.begin():
        await post(session, account_id, [Movement(LedgerEntryKind.PURCHASE, Decimal(10))], Pricing())
    seen: list[tuple[str, Any]] = []
    unsubscribe = events.subscribe(lambda name, payload: seen.append((name, payload.get("call", {}).get("id"))))
    try:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(BrowserMic())
        answer = await web_calls.answer(assistant, await _offer(pc))  # type: ignore[arg-type]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        await _until(lambda: pc.connectionState == "closed", 15, "the agent to end the call")
        await pc.close()
        charges: list[CreditLedgerEntry] = []
        for _ in range(100):  # the charge is posted once the call's row is closed
            async with sessions() as session:
                charges = list(
                    await session.scalars(select(CreditLedgerEntry).where(CreditLedgerEntry.call_id == answer.call_id))
                )
                record = await session.get(Call, answer.call_id)
                account = await session.get(Account, account_id)
            if charges:
                break
            await asyncio.sleep(0.05)
        (charge,) = charges
        assert charge.kind is LedgerEntryKind.CALL_CHARGE and charge.credits < 0
        assert record is not None and record.credits_charged == -charge.credits  # one started minute x the rate
        assert account is not None and account.credit_balance == Decimal(10) + charge.credits
        call_events = [name for name, about in seen if about == str(answer.call_id)]
        assert call_events == ["call.initiated", "call.answered", "call.completed"]

        async with sessions() as session, session.begin():  # spend the rest
            await post(session, account_id, [Movement(LedgerEntryKind.ADJUSTMENT, -account.credit_balance)], Pricing())
        refused = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        refused.addTrack(BrowserMic())
        with pytest.raises(WebCallsUnavailable, match="no credit left"):
            await web_calls.answer(assistant, await _offer(refused))  # type: ignore[arg-type]
        await refused.close()
        assert len(fake.talkers) == 1
    finally:
        unsubscribe()
        await web_calls.stop()
        await engine.dispose()

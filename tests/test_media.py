"""media/: frames, resampling, paced playback with barge-in, stereo recording and the simple handlers."""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from media.audio_files import load_wav_16k
from media.frames import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, rms, silence, tone
from media.handlers import EchoHandler, PlaybackHandler
from media.recording import StereoRecorder
from media.resample import Resampler
from media.session import MediaSession
from tests.peers.loopback import FakeCall, LoopbackPort


@pytest.fixture
async def make_port() -> AsyncIterator[Callable[..., LoopbackPort]]:
    """Build started LoopbackPorts and close them all after the test."""
    ports: list[LoopbackPort] = []

    def make(rate: int = 8000, media_up: bool = True) -> LoopbackPort:
        port = LoopbackPort(rate, media_up)
        port.start()
        ports.append(port)
        return port

    yield make
    for port in ports:
        await port.close()


# -- helpers ----------------------------------------------------------------------------------------


def tone_at(rate: int, frequency_hz: float, ms: int, amplitude: float = 0.3) -> bytes:
    """A sine tone as mono s16 at any rate."""
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * frequency_hz * t) * amplitude * 32767).astype(np.int16).tobytes()


def samples(pcm: bytes | bytearray) -> np.ndarray:
    """s16 bytes as an int16 array."""
    return np.frombuffer(bytes(pcm), dtype=np.int16)


def peak_hz(x: np.ndarray, rate: int) -> float:
    """Frequency of the strongest FFT bin."""
    x = x.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def voiced_blocks(x: np.ndarray, block: int) -> tuple[int, int, list[int]]:
    """First and last non-silent block index and the silent blocks between them.

    A block is silent when no sample exceeds ±8: silence that went through the resampler keeps a faint ripple.
    """
    blocks = np.abs(x[: len(x) // block * block].reshape(-1, block).astype(np.int32)) > 8
    loud = np.flatnonzero(np.any(blocks, axis=1))
    assert len(loud), "nothing was sent"
    first, last = int(loud[0]), int(loud[-1])
    gaps = [i for i in range(first, last + 1) if not np.any(blocks[i])]
    return first, last, gaps


async def consume(session: MediaSession) -> list[bytes]:
    """Iterate a session's frames until the call ends."""
    return [frame async for frame in session.frames()]


# -- frames -----------------------------------------------------------------------------------------


def test_frame_helpers() -> None:
    """silence/tone have the internal format and rms measures level as a fraction of full scale."""
    assert (FRAME_SAMPLES, FRAME_BYTES) == (320, 640)
    assert silence(20) == bytes(640)
    pcm = tone(1000, 100, amplitude=0.5)
    assert len(pcm) == 100 * SAMPLE_RATE // 1000 * 2
    assert rms(pcm) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    assert rms(silence(20)) == 0.0
    assert peak_hz(samples(pcm), SAMPLE_RATE) == pytest.approx(1000, abs=20)


# -- resampler --------------------------------------------------------------------------------------


def test_resampler_round_trip_keeps_a_440_hz_tone() -> None:
    """16k -> 8k -> 16k in 20 ms chunks keeps the length, level and pitch of a tone."""
    original = tone(440, 1000)
    down, up = Resampler(16000, 8000), Resampler(8000, 16000)
    at_8k = b"".join(down.process(original[i : i + 640]) for i in range(0, len(original), 640)) + down.flush()
    assert len(at_8k) == pytest.approx(len(original) / 2, abs=40)
    back = b"".join(up.process(at_8k[i : i + 320]) for i in range(0, len(at_8k), 320)) + up.flush()
    assert len(back) == pytest.approx(len(original), abs=80)
    middle = samples(back)[1600:-1600]
    assert peak_hz(middle, 16000) == pytest.approx(440, abs=5)
    assert rms(middle.tobytes()) == pytest.approx(rms(original), rel=0.05)


def test_resampler_passthrough_and_stereo_downmix() -> None:
    """Same rate mono returns the very same object; stereo is averaged; split samples are carried over."""
    pcm = tone(300, 40)
    assert Resampler(16000, 16000).process(pcm) is pcm
    stereo = np.column_stack([np.full(10, 1000, np.int16), np.full(10, 3000, np.int16)]).tobytes()
    assert set(samples(Resampler(16000, 16000, in_channels=2).process(stereo))) == {2000}
    resampler = Resampler(16000, 16000)
    assert resampler.process(pcm[:3]) + resampler.process(pcm[3:]) == pcm


# -- audio files ------------------------------------------------------------------------------------


def write_wav(path: Path, rate: int, channels: int, pcm: bytes, width: int = 2) -> Path:
    """Write a PCM WAV."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return path


def test_load_wav_16k_converts_rate_and_channels(tmp_path: Path) -> None:
    """A 44.1 kHz stereo WAV comes back as 16 kHz mono with its tone intact."""
    mono = samples(tone_at(44100, 700, 500))
    path = write_wav(tmp_path / "prompt.wav", 44100, 2, np.repeat(mono, 2).tobytes())
    pcm = load_wav_16k(path)
    assert len(pcm) == pytest.approx(16000, abs=8)  # 0.5 s of 16-bit mono
    assert peak_hz(samples(pcm), 16000) == pytest.approx(700, abs=5)


def test_load_wav_16k_rejects_other_files(tmp_path: Path) -> None:
    """Non-WAV data and 8-bit WAVs raise ValueError naming the file."""
    junk = tmp_path / "notes.txt"
    junk.write_text("not audio at all")
    with pytest.raises(ValueError, match=r"notes\.txt"):
        load_wav_16k(junk)
    eight_bit = write_wav(tmp_path / "old.wav", 8000, 1, bytes(800), width=1)
    with pytest.raises(ValueError, match=r"old\.wav.*8-bit"):
        load_wav_16k(eight_bit)


# -- recorder ---------------------------------------------------------------------------------------


def read_stereo(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Left and right channels of a 16-bit stereo WAV."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 16000)
        data = samples(wav.readframes(wav.getnframes()))
    return data[0::2], data[1::2]


def test_recorder_puts_caller_left_and_agent_right(tmp_path: Path) -> None:
    """The caller's tone is on the left channel and the agent's on the right."""
    caller, agent = tone(440, 1000), tone(1000, 1000)
    recorder = StereoRecorder(tmp_path / "call.wav")
    for i in range(0, len(caller), 640):
        recorder.add_caller(caller[i : i + 640])
        recorder.add_agent(agent[i : i + 640])
    recorder.close()
    recorder.close()  # idempotent
    left, right = read_stereo(tmp_path / "call.wav")
    assert len(left) == 16000
    assert peak_hz(left, 16000) == pytest.approx(440, abs=5)
    assert peak_hz(right, 16000) == pytest.approx(1000, abs=5)
    assert np.array_equal(left, samples(caller))


def test_recorder_header_is_valid_while_open(tmp_path: Path) -> None:
    """Mid-call the file is a valid WAV covering all but at most a second of what was recorded."""
    path = tmp_path / "live.wav"
    caller = tone(440, 2500)
    recorder = StereoRecorder(path)
    for i in range(0, len(caller), 640):
        recorder.add_caller(caller[i : i + 640])
        recorder.add_agent(silence(20))
    with wave.open(str(path), "rb") as wav:
        frames = wav.getnframes()
        data = wav.readframes(frames)
    assert 1.5 * 16000 <= frames <= 2.5 * 16000
    assert len(data) == frames * 4
    assert np.array_equal(samples(data)[0::2], samples(caller)[:frames])
    assert recorder.duration_s == pytest.approx(2.5)
    recorder.close()
    with wave.open(str(path), "rb") as wav:
        assert wav.getnframes() == 40000


def test_recorder_pads_a_silent_side_to_keep_time(tmp_path: Path) -> None:
    """One side alone is written with silence opposite it, and the other side's audio lands when it happened."""
    path = tmp_path / "pad.wav"
    recorder = StereoRecorder(path)
    caller, agent = tone(440, 1000), tone(1000, 500)
    for i in range(0, len(caller), 640):
        recorder.add_caller(caller[i : i + 640])
    # Not held back waiting for an agent that says nothing.
    assert recorder.duration_s >= 0.75
    for i in range(0, len(agent), 640):
        recorder.add_agent(agent[i : i + 640])
    recorder.close()
    left, right = read_stereo(path)
    assert len(left) == 24000
    # The agent spoke after the caller's second, not over its last 200 ms.
    assert np.array_equal(right[16000:], samples(agent))
    assert not np.any(left[16000:])
    assert not np.any(right[:16000])


# -- session ----------------------------------------------------------------------------------------


async def test_frames_are_640_bytes_at_real_time_rate(make_port: Callable[..., LoopbackPort]) -> None:
    """Frames from an 8 kHz port are 640 bytes of 16 kHz audio and arrive at 50 per second."""
    port = make_port(8000)
    port.feed(tone_at(8000, 440, 1500))
    session = MediaSession(port)
    loop = asyncio.get_running_loop()
    times: list[float] = []
    frames: list[bytes] = []
    async for frame in session.frames():
        times.append(loop.time())
        frames.append(frame)
        if len(frames) == 56:
            break
    assert {len(f) for f in frames} == {FRAME_BYTES}
    rate = 50 / (times[55] - times[5])
    assert rate == pytest.approx(50, rel=0.15)
    assert peak_hz(samples(b"".join(frames[5:])), 16000) == pytest.approx(440, abs=10)
    # the first ticks, before the resampler has output, are filled with silence
    assert session.stats.frames_in + session.stats.silent_fill == 56


async def test_tone_at_8k_keeps_its_frequency_and_has_no_gaps(
    make_port: Callable[..., LoopbackPort], tmp_path: Path
) -> None:
    """A 1 kHz tone played through an 8 kHz port comes out whole, and the call is recorded left/right."""
    port = make_port(8000)
    port.feed(tone_at(8000, 440, 1500))
    recorder = StereoRecorder(tmp_path / "call.wav")
    session = MediaSession(port, recorder=recorder)
    task = asyncio.create_task(consume(session))
    session.play(tone(1000, 1000))
    assert session.speaking
    assert await session.wait_played(timeout=3)
    assert not session.speaking
    await asyncio.sleep(0.1)
    await port.close()
    await task
    recorder.close()

    sent = samples(port.sent)
    first, last, gaps = voiced_blocks(sent, 160)
    assert gaps == []
    assert (last - first + 1) * 0.02 == pytest.approx(1.0, abs=0.06)
    assert peak_hz(sent[first * 160 : (last + 1) * 160], 8000) == pytest.approx(1000, abs=20)
    stats = session.stats
    assert stats.underruns == 0
    assert stats.frames_out == 50

    left, right = read_stereo(tmp_path / "call.wav")
    assert peak_hz(left, 16000) == pytest.approx(440, abs=10)
    assert peak_hz(right, 16000) == pytest.approx(1000, abs=10)


async def test_flush_stops_output_within_one_tick(make_port: Callable[..., LoopbackPort]) -> None:
    """After flush() nothing more of the old audio is sent, and new audio plays normally."""
    port = make_port(8000)
    session = MediaSession(port)
    task = asyncio.create_task(consume(session))
    session.play(tone(1000, 2000))
    await asyncio.sleep(0.4)
    assert session.speaking
    mark = len(port.sent)
    session.flush()
    assert session.queued_ms == 0
    assert not session.speaking
    await asyncio.sleep(0.2)
    after = samples(port.sent[mark:])
    assert len(after) >= 8 * 160
    assert not np.any(after[160:])  # at most the packet already on its way
    assert await session.wait_played(timeout=0.1)

    mark = len(port.sent)
    session.play(tone(500, 200))
    assert await session.wait_played(timeout=2)
    first, last, gaps = voiced_blocks(samples(port.sent[mark:]), 160)
    assert gaps == []
    assert (last - first + 1) * 0.02 == pytest.approx(0.2, abs=0.05)
    await port.close()
    await task
    assert session.stats.underruns == 0


async def test_streamed_audio_never_lets_the_port_run_dry(make_port: Callable[..., LoopbackPort]) -> None:
    """Audio queued in chunks (as TTS streams it) reaches a 16 kHz port with no gap and a bounded lead."""
    port = make_port(16000)
    session = MediaSession(port, lead_ms=60)
    task = asyncio.create_task(consume(session))
    speech = tone(700, 1500)
    chunk = 100 * 32
    for i in range(0, len(speech), chunk):
        session.play(speech[i : i + chunk])
        await asyncio.sleep(0.05)  # twice as fast as real time, like a TTS engine ahead of playback
    assert await session.wait_played(timeout=3)
    await port.close()
    await task

    sent = samples(port.sent)
    first, last, gaps = voiced_blocks(sent, 320)
    assert gaps == []
    assert (last - first + 1) * 0.02 == pytest.approx(1.5, abs=0.06)
    assert np.array_equal(sent[first * 320 : first * 320 + len(speech) // 2], samples(speech))
    # Every packet between the first and the last found a full 20 ms waiting in the port.
    levels = port.tx_levels[first : last + 1]
    assert min(levels[:-1]) >= 640
    # The port never holds much more than the lead, so flush() has little to throw away.
    assert port.max_tx <= (60 + 20) * 32
    assert session.stats.underruns == 0


def stall(seconds: float) -> None:
    """Block the event loop, as a slow synchronous call in a handler would."""
    time.sleep(seconds)


async def test_a_stalled_loop_skips_ahead_instead_of_bursting(make_port: Callable[..., LoopbackPort]) -> None:
    """After the loop was blocked for 250 ms the session resumes its 20 ms grid instead of replaying missed ticks."""
    port = make_port(8000)
    port.feed(tone_at(8000, 440, 1000))
    session = MediaSession(port)
    count = 0
    async for _frame in session.frames():
        count += 1
        if count == 10:
            stall(0.25)
        if count == 35:
            break
    # One late tick for the stall (a catch-up burst would have made ~12 late ticks in a row).
    assert 1 <= session.stats.late_ticks <= 3


async def test_session_paces_output_when_the_peer_sends_nothing(make_port: Callable[..., LoopbackPort]) -> None:
    """PlaybackHandler plays its tone with no incoming audio at all and then hangs up."""
    port = make_port(16000)
    call = FakeCall(port)
    session = MediaSession(port)
    handler = PlaybackHandler(tone_hz=600, tone_ms=300, hangup_after=True)
    await asyncio.wait_for(handler.run(session, call), timeout=3)
    assert call.hung_up
    assert session.stats.frames_in == 0
    first, last, gaps = voiced_blocks(samples(port.sent), 320)
    assert gaps == []
    assert (last - first + 1) * 0.02 == pytest.approx(0.3, abs=0.05)


async def test_frames_wait_for_media_and_give_up_quietly(make_port: Callable[..., LoopbackPort]) -> None:
    """Without a format the iterator waits, starts when media comes up, and gives up after the timeout."""
    port = make_port(8000, media_up=False)
    assert await asyncio.wait_for(consume(MediaSession(port, media_timeout_s=0.1)), timeout=1) == []

    late = make_port(8000, media_up=False)
    late.inject(tone_at(8000, 440, 100))
    session = MediaSession(late, media_timeout_s=2)
    asyncio.get_running_loop().call_later(0.1, late.set_media_up)
    frames = session.frames()
    first = await asyncio.wait_for(anext(frames), timeout=1)
    assert len(first) == FRAME_BYTES
    await frames.aclose()


async def test_echo_handler_returns_the_callers_audio(make_port: Callable[..., LoopbackPort]) -> None:
    """Audio fed into the port comes back out of it, and the handler returns when the call ends."""
    port = make_port(8000)
    port.feed(tone_at(8000, 1000, 600))
    call = FakeCall(port)
    session = MediaSession(port)
    task = asyncio.create_task(EchoHandler().run(session, call))
    await asyncio.sleep(1.0)
    await port.close()
    await asyncio.wait_for(task, timeout=1)
    sent = samples(port.sent)
    first, last, gaps = voiced_blocks(sent, 160)
    assert gaps == []
    assert (last - first + 1) * 0.02 == pytest.approx(0.6, abs=0.06)
    assert peak_hz(sent[first * 160 : (last + 1) * 160], 8000) == pytest.approx(1000, abs=20)
    assert session.stats.underruns == 0
